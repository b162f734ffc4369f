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

Pagination is by builder name: the opaque NextToken is signed with a per-run secret,
bound to the request's filter and valid for ``token_ttl`` simulation seconds. A token
that does not decode, was issued by another run (or before ``/_fake/reset``), belongs to
another filter or has expired is answered with ``ValidationException``; the model lists
no pagination error for these operations and ``ValidationException`` is the common error
AWS uses for a bad parameter value.

The fleet is not thread-safe by itself: the server serialises every call into it.
"""

import base64
import bisect
import copy
import hashlib
import hmac
import json
import os
import re
import zlib

from .errors import ApiError, not_found, validation

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


def split_spec(spec):
    """Split a control-API builder definition into API members and knobs."""
    if not isinstance(spec, dict):
        raise ValueError("a builder definition must be an object")
    fields, knobs = {}, {}
    for key, value in spec.items():
        if key[:1].isupper():
            fields[key] = copy.deepcopy(value)
        elif key in KNOBS:
            knobs[key] = _check_knob(key, value)
        else:
            raise ValueError(f"unknown builder key {key!r}: API members are capitalised, "
                             f"knobs are {sorted(KNOBS)}")
    return fields, knobs


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
    def __init__(self, config, clocks):
        self.config = config
        self.clocks = clocks
        self.builders = {}
        self._token_key = os.urandom(32)

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
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("count must be a non-negative integer")
        width = max(2, len(str(first + count - 1)))
        version = version or self.config.latest_version
        names = []
        for i in range(first, first + count):
            names.append(self.put({"Name": f"{prefix}{i:0{width}d}",
                                   "AppstreamAgentVersion": version, "State": state}))
        return names

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
        self._token_key = os.urandom(32)

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
        for key in [k for k, v in fields.items() if v is None]:
            del fields[key]

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
        version = builder.fields.get("AppstreamAgentVersion")
        if version is None or is_older(version, self.config.latest_version):
            return "FALSE"
        return "TRUE"

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

    def describe(self, params):
        """DescribeImageBuilders."""
        self.tick()
        names = params.get("Names") or None
        if names:
            for name in names:
                self._get(name)
            selection = sorted(set(names))
        else:
            selection = sorted(self.builders)
        page, token = self._page("DescribeImageBuilders", selection, names, params)
        result = {"ImageBuilders": [self.render(self.builders[n]) for n in page]}
        if token:
            result["NextToken"] = token
        return result

    def describe_badly(self, params, fault):
        """DescribeImageBuilders as a listing fault answers it (see faults.py)."""
        if fault["kind"] == "empty_pages":
            self.tick()
            names = params.get("Names") or None
            after = None
            if params.get("NextToken"):
                after = self._open_token(params["NextToken"], "DescribeImageBuilders", names)
            token = self._make_token("DescribeImageBuilders", names, after, fresh=True)
            return {"ImageBuilders": [], "NextToken": token}
        result = self.describe(params)
        if fault["kind"] == "repeat_token":
            result["NextToken"] = params["NextToken"]
        elif self.builders:
            name = fault["builder"]
            if name not in self.builders:
                name = sorted(self.builders)[0]
            copy_ = self.render(self.builders[name])
            copy_.update(copy.deepcopy(fault["members"]))
            self._drop_nulls(copy_)
            result["ImageBuilders"].append(copy_)
        return result

    def images(self):
        """The images the builders were made from, keyed by ARN."""
        out = {}
        for name in sorted(self.builders):
            builder = self.builders[name]
            arn = builder.fields.get("ImageArn")
            if not arn or arn in out:
                continue
            image_name = arn.rsplit("/", 1)[-1]
            out[arn] = {
                "Name": image_name,
                "Arn": arn,
                "DisplayName": image_name,
                "Description": f"Base image {image_name}",
                "State": "AVAILABLE",
                "Visibility": "PUBLIC" if "::image/" in arn else "PRIVATE",
                "ImageBuilderSupported": True,
                "Platform": builder.fields.get("Platform", "WINDOWS_SERVER_2019"),
                "CreatedTime": builder.fields.get("CreatedTime", 0),
                "PublicBaseImageReleasedDate": builder.fields.get("CreatedTime", 0),
                "AppstreamAgentVersion": builder.image_version or self.config.latest_version,
                "ImagePermissions": {"allowFleet": True, "allowImageBuilder": True},
                "Applications": [],
            }
        return out

    def describe_images(self, params):
        """DescribeImages, over the images the builders use."""
        if params.get("Names") and params.get("Arns"):
            raise ApiError("InvalidParameterCombinationException",
                           "Names and Arns cannot be specified together.")
        images = self.images()
        by_name = {img["Name"]: img for img in images.values()}
        if params.get("Arns"):
            for arn in params["Arns"]:
                if arn not in images:
                    raise not_found("image", arn)
            chosen = {images[a]["Name"]: images[a] for a in params["Arns"]}
        elif params.get("Names"):
            for name in params["Names"]:
                if name not in by_name:
                    raise not_found("image", name)
            chosen = {n: by_name[n] for n in params["Names"]}
        else:
            chosen = by_name
        if params.get("Type"):
            chosen = {n: i for n, i in chosen.items() if i["Visibility"] == params["Type"]}
        key = {k: params.get(k) for k in ("Names", "Arns", "Type")}
        page, token = self._page("DescribeImages", sorted(chosen), key, params)
        result = {"Images": [chosen[n] for n in page]}
        if token:
            result["NextToken"] = token
        return result

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

    # ---- pagination ------------------------------------------------------------------

    def _page(self, operation, selection, filter_key, params):
        limit = params.get("MaxResults") or self.config.page_size
        if limit < 0:
            raise validation([f"Value '{limit}' at 'maxResults' failed to satisfy "
                              "constraint: Member must have value greater than or equal to 0"])
        start = 0
        if params.get("NextToken"):
            after = self._open_token(params["NextToken"], operation, filter_key)
            # None: a token of an empty page handed out before the first builder.
            start = 0 if after is None else bisect.bisect_right(selection, after)
        page = selection[start:start + limit]
        token = None
        if start + limit < len(selection):
            token = self._make_token(operation, filter_key, page[-1])
        return page, token

    def _filter_digest(self, operation, filter_key):
        text = json.dumps([operation, filter_key], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _make_token(self, operation, filter_key, after, fresh=False):
        """A token that resumes after the name `after` (None: from the start); `fresh` makes
        it differ from every other token for the same place."""
        data = {
            "a": after,
            "f": self._filter_digest(operation, filter_key),
            "x": round(self.clocks.now() + self.config.token_ttl, 3),
        }
        if fresh:
            data["n"] = os.urandom(8).hex()
        payload = json.dumps(data, separators=(",", ":")).encode()
        mac = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def _open_token(self, token, operation, filter_key):
        invalid = ApiError("ValidationException", "The NextToken value is not valid.")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise invalid from None
        payload, mac = raw[:-16], raw[-16:]
        good = hmac.new(self._token_key, payload, hashlib.sha256).digest()[:16]
        if len(raw) <= 16 or not hmac.compare_digest(mac, good):
            raise invalid
        data = json.loads(payload)
        if data["f"] != self._filter_digest(operation, filter_key):
            raise ApiError("ValidationException",
                           "The NextToken does not belong to a request with these parameters.")
        if self.clocks.now() > data["x"]:
            raise ApiError("ValidationException", "The NextToken has expired.")
        return data["a"]
