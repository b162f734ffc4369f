"""The simulated fleet of image builders and the operations on it.

State machine (durations from the configuration, in simulation seconds):

* ``StopImageBuilder`` on RUNNING: STOPPING now, STOPPED after ``stopping``.
* ``StartImageBuilder`` on STOPPED: PENDING now; after ``pending`` either RUNNING, or, when
  the start changes the agent, UPDATING_AGENT and RUNNING ``updating_agent`` later with the
  new version. ``AppstreamAgentVersion='[LATEST]'`` moves a builder whose version is older
  than the configured latest to the latest; an explicit version moves it to that version;
  no version keeps the one it has.
* Both calls answer ``{"ImageBuilder": {...}}`` showing the new state (STOPPING, PENDING).

Calls on a builder in the wrong state. The model lets StopImageBuilder fail with
``OperationNotPermittedException`` and ``ConcurrentModificationException``, and
StartImageBuilder with ``ConcurrentModificationException`` (but not
``OperationNotPermittedException``). The fake answers:

* Stop on STOPPED or FAILED (nothing to stop): ``OperationNotPermittedException``.
* Stop on any other state but RUNNING (a transition is under way): ``ConcurrentModificationException``.
* Start on any state but STOPPED: ``ConcurrentModificationException``.

An unknown builder name is ``ResourceNotFoundException`` everywhere.

Per-builder knobs (snake_case keys next to the API members when a builder is defined):

``fail_start``
    A start ends in FAILED (with ``StateChangeReason`` and ``ImageBuilderErrors``)
    instead of RUNNING.
``update_does_not_take``
    A start that should change the agent goes through UPDATING_AGENT but leaves the old
    version (and ``LatestAppstreamAgentVersion`` FALSE).
``stuck_in``
    A state name: once the builder enters it, no further transition happens.
``omit_latest_flag``
    true/false overrides the global setting for this builder; null follows it.
``latest_flag``
    ``"TRUE"``/``"FALSE"`` forces ``LatestAppstreamAgentVersion`` until the next
    completed start; null computes it from the version.
``tags``
    The builder's tags: what ListTagsForResource answers, TagResource and UntagResource
    change, and the denies of denies.py judge. Set through the control API they replace
    the whole set, and need only be strings: like names, they may be what AWS never allows.

A builder defined without ``AppstreamAgentVersion`` runs the latest agent; members not
given take realistic defaults (see ``default_fields``), and ``None`` leaves one out.
Any member whose name starts with a capital letter is an API member and is answered as
given, unknown ones and unknown ``State`` values included, so clients can be tested
against fields and states that AWS adds later. ``Arn`` is derived from the region, the
account and the name unless set. ``Name`` may be any string, even one AWS never allows
(empty, a million characters, control characters): the control API defines builders
without the model's checks, as a broken or hostile service could answer them. Calls naming
such a builder still meet the model's validation, as they would at AWS.

Tagging (ListTagsForResource, TagResource, UntagResource) takes a builder's ARN,
``arn:aws:appstream:REGION:ACCOUNT:image-builder/NAME`` (or the ``Arn`` member it was given).
The model checks the ARN's form, the keys (1 to 128 characters, letters, digits, spaces
and ``_ . : / = + - @``, no ``aws:`` prefix), the values (0 to 256 of the same) and the
counts (1 to 50 tags or keys a call). The fake then answers:

* An ARN of no builder it holds (one of another region, another account, another service,
  another resource type such as ``fleet/`` or ``image/``, or a builder that does not
  exist): ``ResourceNotFoundException``, the only error the model lists for all three
  calls. AWS's answer for another account or service is not documented; it may well be
  ``AccessDeniedException`` there.
* TagResource adds or overwrites; a builder may carry at most 50 tags, so a call that
  would leave more is ``LimitExceededException`` (the model's error for it; the message
  is the fake's) and changes nothing. Both answer ``{}``.
* UntagResource removes the keys given; a key the builder does not have is no error.
* ListTagsForResource answers ``{"Tags": {...}}``, ``{}`` inside when there are none.

The listing faults of faults.py (``duplicate``, ``repeat_token``, ``empty_pages``) shape
DescribeImageBuilders answers the way AWS never does: see ``describe_badly``.

Pagination is by builder name, with the signed, expiring tokens of pagination.py.

Images (DescribeImages) are in images.py, AppStream fleets (DescribeFleets) in fleets.py.

The fleet is not thread-safe by itself: the server serialises every call into it.
"""

import copy
import re
import zlib

from . import pagination
from .errors import ApiError, not_found

STATES = (
    "DELETING", "FAILED", "PENDING", "PENDING_IMAGE_IMPORT", "PENDING_QUALIFICATION",
    "PENDING_SYNCING_APPS", "REBOOTING", "RUNNING", "SNAPSHOTTING", "STOPPED", "STOPPING",
    "SYNCING_APPS", "UPDATING", "UPDATING_AGENT",
)

KNOBS = {
    "fail_start": False,
    "update_does_not_take": False,
    "stuck_in": None,
    "omit_latest_flag": None,
    "latest_flag": None,
    "tags": {},
}

DEFAULT_IMAGE = "AppStream-WinServer2019-06-12-2023"
MAX_TAGS = 50
_VERSION = re.compile(r"(\d{2})-(\d{2})-(\d{4})")
_DAY = 86400.0


def parse_version(text):
    """MM-DD-YYYY as a comparable (year, month, day), or None."""
    match = _VERSION.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    month, day, year = (int(g) for g in match.groups())
    return (year, month, day)


def is_older(version, than):
    """True when version is older than `than`; an unreadable version counts as older
    unless it is literally the same string."""
    a, b = parse_version(version), parse_version(than)
    if a is None or b is None:
        return version != than
    return a < b


def _check_knob(key, value):
    if key in ("fail_start", "update_does_not_take") and not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    if key == "stuck_in" and value is not None and not isinstance(value, str):
        raise ValueError("stuck_in must be a state name or null")
    if key == "omit_latest_flag" and value is not None and not isinstance(value, bool):
        raise ValueError("omit_latest_flag must be true, false or null")
    if key == "latest_flag" and value not in (None, "TRUE", "FALSE"):
        raise ValueError("latest_flag must be \"TRUE\", \"FALSE\" or null")
    if key == "tags" and not (
        isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    ):
        raise ValueError("tags must be an object of strings")
    return copy.deepcopy(value)


def split_spec(spec, kind="builder", knobs=KNOBS, check=_check_knob):
    """Split a control-API definition (of a builder unless `kind` says otherwise, with
    its `knobs` and their `check`) into API members and knobs."""
    if not isinstance(spec, dict):
        raise ValueError(f"a {kind} definition must be an object")
    fields, found = {}, {}
    for key, value in spec.items():
        if key[:1].isupper():
            fields[key] = copy.deepcopy(value)
        elif key in knobs:
            found[key] = check(key, value)
        else:
            raise ValueError(f"unknown {kind} key {key!r}: API members are capitalised, "
                             f"knobs are {sorted(knobs)}")
    return fields, found


def drop_nulls(fields):
    """Remove the members whose value is None (a definition's way to leave one out)."""
    for key in [k for k, v in fields.items() if v is None]:
        del fields[key]


def numbered(prefix, count, first):
    """prefix01, prefix02, ...: the names of a generated series (at least two digits)."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ValueError("count must be a non-negative integer")
    if not isinstance(first, int) or isinstance(first, bool):
        raise ValueError("first must be an integer")
    if not isinstance(prefix, str):
        raise ValueError("prefix must be a string")
    width = max(2, len(str(first + count - 1)))
    return [f"{prefix}{i:0{width}d}" for i in range(first, first + count)]


def latest_flag(version, latest):
    """LatestAppstreamAgentVersion of an agent version, given the latest one."""
    if version is None or is_older(version, latest):
        return "FALSE"
    return "TRUE"


class Builder:
    def __init__(self, fields, knobs):
        self.fields = fields
        self.knobs = {**copy.deepcopy(KNOBS), **knobs}
        self.timeline = []
        self.image_version = fields.get("AppstreamAgentVersion")

    @property
    def name(self):
        return self.fields["Name"]

    @property
    def state(self):
        return self.fields.get("State")


class Fleet:
    """The image builders (not to be confused with AppStream fleets: fleets.py)."""

    OPERATION = "DescribeImageBuilders"
    RESULT_KEY = "ImageBuilders"

    def __init__(self, config, clocks, pager=None):
        self.config = config
        self.clocks = clocks
        self.builders = {}
        self.pager = pager or pagination.Pager(config, clocks)

    # ---- definition (control API) -------------------------------------------------

    def default_fields(self, name, version, state="RUNNING"):
        """A realistic builder: every member AWS usually returns, varied by name."""
        seed = zlib.crc32(name.encode())
        region, account = self.config.region, self.config.account_id
        fields = {
            "Name": name,
            "DisplayName": name,
            "Description": f"Image builder {name}",
            "ImageArn": f"arn:aws:appstream:{region}::image/{DEFAULT_IMAGE}",
            "VpcConfig": {
                "SubnetIds": [f"subnet-{seed:08x}0a1b2c3d"],
                "SecurityGroupIds": [f"sg-{seed:08x}4e5f6071"],
            },
            "InstanceType": ("stream.standard.medium", "stream.standard.large")[seed % 2],
            "Platform": ("WINDOWS_SERVER_2019", "WINDOWS_SERVER_2016")[seed % 3 == 0],
            "State": state,
            "CreatedTime": round(self.clocks.wall() - (30 + seed % 300) * _DAY, 3),
            "EnableDefaultInternetAccess": seed % 4 == 0,
            "NetworkAccessConfiguration": {
                "EniPrivateIpAddress": f"10.0.{seed % 250}.{(seed >> 8) % 250 + 4}",
                "EniId": f"eni-{seed:08x}9a8b7c6d5",
            },
            "ImageBuilderErrors": [],
            "AppstreamAgentVersion": version,
        }
        if seed % 3 == 1:
            fields["IamRoleArn"] = f"arn:aws:iam::{account}:role/AppStreamImageBuilderRole"
        if seed % 4 == 1:
            fields["AccessEndpoints"] = [
                {"EndpointType": "STREAMING", "VpceId": f"vpce-{seed:08x}1f2e3d4c5"}
            ]
        if seed % 5 == 2:
            fields["DomainJoinInfo"] = {
                "DirectoryName": "corp.example.com",
                "OrganizationalUnitDistinguishedName": "OU=AppStream,DC=corp,DC=example,DC=com",
            }
        return fields

    def put(self, spec):
        """Add a builder, or replace the one with the same name. Members not given take
        realistic defaults; returns the name."""
        fields, knobs = split_spec(spec)
        name = fields.get("Name")
        # Any text is answered as the builder's name, even one AWS never allows (empty, too
        # long, control characters): clients must survive a broken or hostile service.
        if not isinstance(name, str):
            raise ValueError("a builder needs a Name (a string)")
        version = fields.get("AppstreamAgentVersion", self.config.latest_version)
        merged = self.default_fields(name, version)
        merged.update(fields)
        self._drop_nulls(merged)
        self.builders[name] = Builder(merged, knobs)
        return name

    def generate(self, count, prefix="builder-", version=None, state="RUNNING", first=1):
        """Add `count` default builders named prefix01, prefix02, ..."""
        version = version or self.config.latest_version
        return [self.put({"Name": name, "AppstreamAgentVersion": version, "State": state})
                for name in numbered(prefix, count, first)]

    def update(self, name, spec):
        """Change a builder as an external actor would: members given replace (null
        removes), a State cancels any transition under way; knobs are set."""
        builder = self._get(name)
        fields, knobs = split_spec(spec)
        if "Name" in fields and fields["Name"] != name:
            raise ValueError("a builder cannot be renamed")
        builder.fields.update(fields)
        self._drop_nulls(builder.fields)
        builder.knobs.update(knobs)
        if "State" in fields:
            builder.timeline.clear()

    def retag(self, name, add, remove):
        """Add or overwrite the tags `add`, then remove the keys `remove`, as an external
        actor would (no model checks, no limit); return the tags."""
        builder = self._get(name)
        add = _check_knob("tags", add)
        if not isinstance(remove, list) or not all(isinstance(k, str) for k in remove):
            raise ValueError("remove must be a list of tag keys")
        builder.knobs["tags"].update(add)
        for key in remove:
            builder.knobs["tags"].pop(key, None)
        return copy.deepcopy(builder.knobs["tags"])

    def delete(self, name):
        self._get(name)
        del self.builders[name]

    def snapshot(self):
        """Every builder as the API shows it, plus its knobs and scheduled transitions."""
        self.tick()
        out = []
        for name in sorted(self.builders):
            builder = self.builders[name]
            item = self.render(builder)
            item["_fake"] = {
                "knobs": copy.deepcopy(builder.knobs),
                "transitions": [{"at": at, "set": copy.deepcopy(ch)} for at, ch in builder.timeline],
            }
            out.append(item)
        return out

    def rotate_token_key(self):
        self.pager.rotate_key()

    # ---- time ------------------------------------------------------------------------

    def tick(self):
        """Apply every transition that is due by the simulation clock."""
        now = self.clocks.now()
        for builder in self.builders.values():
            while builder.timeline and builder.timeline[0][0] <= now:
                _, changes = builder.timeline.pop(0)
                self._enter(builder, changes, builder.timeline)

    def _enter(self, builder, changes, then):
        """Apply changes now and schedule `then`, unless the builder is stuck."""
        for key, value in changes.items():
            if key.startswith("_"):
                builder.knobs[key[1:]] = value
            elif value is None:
                builder.fields.pop(key, None)
            else:
                builder.fields[key] = copy.deepcopy(value)
        stuck = builder.knobs.get("stuck_in")
        builder.timeline = [] if stuck is not None and builder.state == stuck else list(then)

    @staticmethod
    def _drop_nulls(fields):
        drop_nulls(fields)

    # ---- rendering -------------------------------------------------------------------

    def arn(self, name):
        return (f"arn:aws:appstream:{self.config.region}:{self.config.account_id}"
                f":image-builder/{name}")

    def render(self, builder):
        """The builder as DescribeImageBuilders answers it."""
        out = copy.deepcopy(builder.fields)
        out.setdefault("Arn", self.arn(builder.name))
        omit = builder.knobs["omit_latest_flag"]
        if omit is None:
            omit = self.config.omit_latest_flag
        if not omit:
            out["LatestAppstreamAgentVersion"] = self._latest_flag(builder)
        return out

    def _latest_flag(self, builder):
        if builder.knobs["latest_flag"] is not None:
            return builder.knobs["latest_flag"]
        return latest_flag(builder.fields.get("AppstreamAgentVersion"),
                           self.config.latest_version)

    # ---- operations ------------------------------------------------------------------

    def _get(self, name):
        builder = self.builders.get(name)
        if builder is None:
            raise not_found("image builder", name)
        return builder

    def stop(self, name):
        self.tick()
        builder = self._get(name)
        state = builder.state
        if state in ("STOPPED", "FAILED"):
            raise ApiError("OperationNotPermittedException",
                           f"Image builder '{name}' is {state} and cannot be stopped.")
        if state != "RUNNING":
            raise ApiError("ConcurrentModificationException",
                           f"Image builder '{name}' is {state}; wait until the current "
                           "operation completes.")
        done = self.clocks.now() + self.config.durations["stopping"]
        self._enter(builder, {"State": "STOPPING"}, [(done, {"State": "STOPPED"})])
        return {"ImageBuilder": self.render(builder)}

    def start(self, name, requested=None):
        self.tick()
        builder = self._get(name)
        if builder.state != "STOPPED":
            raise ApiError("ConcurrentModificationException",
                           f"Image builder '{name}' is {builder.state} and can be started "
                           "only when STOPPED.")
        current = builder.fields.get("AppstreamAgentVersion")
        target = self._target_version(current, requested)
        self._enter(builder, {"State": "PENDING"}, self._start_plan(builder, current, target))
        return {"ImageBuilder": self.render(builder)}

    def _target_version(self, current, requested):
        if requested is None:
            return current
        if requested == "[LATEST]":
            latest = self.config.latest_version
            return latest if current is None or is_older(current, latest) else current
        return requested

    def _start_plan(self, builder, current, target):
        durations = self.config.durations
        now = self.clocks.now()
        at = now + durations["pending"]
        plan = []
        if target != current:
            plan.append((at, {"State": "UPDATING_AGENT"}))
            at += durations["updating_agent"]
        if builder.knobs["fail_start"]:
            failed_wall = round(self.clocks.wall() + (at - now), 3)
            plan.append((at, {
                "State": "FAILED",
                "StateChangeReason": {"Code": "INTERNAL_ERROR",
                                      "Message": "The image builder could not be started."},
                "ImageBuilderErrors": [{"ErrorCode": "INTERNAL_SERVICE_ERROR",
                                        "ErrorMessage": "The image builder could not be started.",
                                        "ErrorTimestamp": failed_wall}],
            }))
            return plan
        final = current if builder.knobs["update_does_not_take"] else target
        plan.append((at, {"State": "RUNNING", "AppstreamAgentVersion": final,
                          "StateChangeReason": None, "ImageBuilderErrors": [],
                          "_latest_flag": None}))
        return plan

    # ---- listing (see pagination.py) ---------------------------------------------------

    def filter_key(self, params):
        return params.get("Names") or None

    def selection(self, params):
        names = params.get("Names") or None
        if not names:
            return sorted(self.builders)
        for name in names:
            self._get(name)
        return sorted(set(names))

    def all_names(self):
        return sorted(self.builders)

    def item(self, name):
        return self.render(self.builders[name])

    def limit(self, params):
        return pagination.max_results(params, self.config.page_size)

    def describe(self, params):
        """DescribeImageBuilders."""
        return pagination.describe(self, params)

    def describe_badly(self, params, fault):
        """DescribeImageBuilders as a listing fault answers it (see faults.py)."""
        return pagination.describe_badly(self, params, fault)

    def by_arn(self, arn):
        """The builder whose ARN is arn, or None."""
        for builder in self.builders.values():
            if builder.fields.get("Arn", self.arn(builder.name)) == arn:
                return builder
        return None

    def _tagged(self, arn):
        builder = self.by_arn(arn)
        if builder is None:
            raise not_found("resource", arn)
        return builder

    def list_tags(self, params):
        """ListTagsForResource."""
        return {"Tags": copy.deepcopy(self._tagged(params["ResourceArn"]).knobs["tags"])}

    def tag(self, params):
        """TagResource."""
        builder = self._tagged(params["ResourceArn"])
        merged = {**builder.knobs["tags"], **params["Tags"]}
        if len(merged) > MAX_TAGS:
            raise ApiError("LimitExceededException",
                           f"The resource {params['ResourceArn']} would have {len(merged)} "
                           f"tags; a resource can have at most {MAX_TAGS}.")
        builder.knobs["tags"] = merged
        return {}

    def untag(self, params):
        """UntagResource."""
        builder = self._tagged(params["ResourceArn"])
        for key in params["TagKeys"]:
            builder.knobs["tags"].pop(key, None)
        return {}
