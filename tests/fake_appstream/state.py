"""Everything one fake server knows, behind one lock: settings, clocks, builders
(``fleet``), images, AppStream fleets (``fleets``), credentials, faults, denies and the call
log. ``reset()`` returns to the start-up state."""

import copy
import itertools
import json
import random
import threading

from . import DEFAULT_OLD_VERSION, denies, estate
from .clock import Clocks
from .config import Config
from .errors import ApiError
from .faults import FaultTable
from .fleet import Fleet
from .fleets import FleetSet
from .images import ImageSet
from .model import ApiModel
from .pagination import Pager
from .sigv4 import CredentialTable, Verifier

OPERATIONS = (
    "DescribeImageBuilders",
    "StopImageBuilder",
    "StartImageBuilder",
    "DescribeImages",
    "DescribeFleets",
    "ListTagsForResource",
    "TagResource",
    "UntagResource",
)
BUILDER_PREFIX = "image-builder/"
IMAGE_PREFIX = "image/"
READ_ONLY = {"DescribeImageBuilders", "DescribeImages", "DescribeFleets",
             "ListTagsForResource"}


class FakeState:
    def __init__(self, settings=None, credentials=(), seed_fleet=None, model=None,
                 seed_estate=False):
        """settings: Config overrides; credentials: CredentialTable entries; seed_fleet:
        keyword arguments of Fleet.generate for the start-up fleet (or None); seed_estate:
        add estate.py's images and fleets too (and point seeded builders at them)."""
        self.lock = threading.RLock()
        self.model = model or ApiModel()
        self.stopping = threading.Event()
        self._initial = (dict(settings or {}), [dict(c) for c in credentials],
                         dict(seed_fleet) if seed_fleet else None)
        self._seed_estate = seed_estate
        self.clocks = Clocks()
        self.reset()

    def reset(self):
        settings, credentials, seed_fleet = copy.deepcopy(self._initial)
        with self.lock:
            self.config = Config(**settings)
            self.clocks.restart(self.config.manual_clock, self.config.clock_offset)
            pager = Pager(self.config, self.clocks)
            self.fleet = Fleet(self.config, self.clocks, pager)
            self.images = ImageSet(self.config, self.clocks, pager, self._image_references)
            self.fleets = FleetSet(self.config, self.clocks, pager, self.images)
            if seed_fleet:
                self.fleet.generate(**seed_fleet)
            if self._seed_estate:
                old = (seed_fleet or {}).get("version") or DEFAULT_OLD_VERSION
                estate.seed(self.images, self.fleets, self.fleet, self.config, old)
            self.credentials = CredentialTable(credentials, self.clocks.wall())
            self.faults = FaultTable(OPERATIONS)
            self.denies = denies.DenyTable(OPERATIONS)
            self.calls = []
            self._call_seq = itertools.count(1)
            self.rng = random.Random(self.config.seed)
            self._error_count = 0

    def _image_references(self):
        """(image ARN, members) of every builder, then every fleet: the images they use."""
        out = []
        for name in sorted(self.fleet.builders):
            builder = self.fleet.builders[name]
            out.append((builder.fields.get("ImageArn"),
                        {"Platform": builder.fields.get("Platform"),
                         "AppstreamAgentVersion": builder.image_version}))
        return out + self.fleets.references()

    def delete_image(self, name):
        """Delete a defined image; the fleets that run it keep its ARN."""
        with self.lock:
            image = self.images.images.get(name)
            if image is not None:
                self.fleets.keep_image_arn(self.images.render(image).get("Arn"))
            return self.images.delete(name)

    def listing(self, operation):
        """The builders, images or fleets a Describe operation lists."""
        return {"DescribeImageBuilders": self.fleet, "DescribeImages": self.images,
                "DescribeFleets": self.fleets}[operation]

    def apply_config(self, changes):
        with self.lock:
            self.config.update(changes)
            self.clocks.offset = self.config.clock_offset
            if self.config.manual_clock != self.clocks.manual:
                self.clocks.set_manual(self.config.manual_clock)
            if "seed" in changes:
                self.rng = random.Random(self.config.seed)
            return self.config.as_dict()

    def set_credentials(self, entries):
        if not isinstance(entries, list):
            raise ValueError("credentials must be a list")
        with self.lock:
            self.credentials = CredentialTable(entries, self.clocks.wall())
            return self.credentials.as_list()

    def add_credentials(self, entries):
        """Accept these credentials too (an entry replaces one with its access key id);
        return the whole table."""
        if not isinstance(entries, list):
            raise ValueError("add must be a list of credentials")
        with self.lock:
            table = CredentialTable(entries, self.clocks.wall())
            self.credentials.entries.update(table.entries)
            return self.credentials.as_list()

    def verifier(self):
        with self.lock:
            return Verifier(self.credentials, self.config.region, self.clocks.wall(),
                            self.config.max_skew, self.config.auth_error_status)

    def error_wire(self, error):
        """Body and headers for an error, in the configured (or the alternating) form."""
        with self.lock:
            form = self.config.error_format
            namespaced = form == "namespaced" or (form == "alternate" and self._error_count % 2)
            self._error_count += 1
            return error.wire(bool(namespaced), self.config.error_type_header)

    def pick_fault(self, operation, names, continuation=False):
        with self.lock:
            return self.faults.pick(operation, names, self.rng, continuation)

    def execute(self, operation, params):
        """Run an API operation; return its result dict or raise ApiError."""
        with self.lock:
            if operation == "DescribeImageBuilders":
                return self.fleet.describe(params)
            if operation == "StopImageBuilder":
                return self.fleet.stop(params["Name"])
            if operation == "StartImageBuilder":
                return self.fleet.start(params["Name"], params.get("AppstreamAgentVersion"))
            if operation == "DescribeImages":
                return self.images.describe(params)
            if operation == "DescribeFleets":
                return self.fleets.describe(params)
            if operation == "TagResource":
                return self.fleet.tag(params)
            if operation == "UntagResource":
                return self.fleet.untag(params)
            return self.fleet.list_tags(params)

    def caller_arn(self):
        """The identity AccessDeniedException messages name."""
        with self.lock:
            return (self.config.caller_arn
                    or f"arn:aws:iam::{self.config.account_id}:user/appstream-agent-reconciler")

    def _resource(self, operation, params):
        """(builder name, its ARN, its tags or None) a call acts on; the name is None when
        the ARN is not one of a builder of this region and account."""
        if operation in ("StopImageBuilder", "StartImageBuilder"):
            name = params["Name"]
            builder = self.fleet.builders.get(name)
            arn = self.fleet.render(builder)["Arn"] if builder else self.fleet.arn(name)
        else:
            arn = params["ResourceArn"]
            builder = self.fleet.by_arn(arn)
            prefix = self.fleet.arn("")
            name = builder.name if builder else (arn[len(prefix):] if arn.startswith(prefix)
                                                 else None)
        return name, arn, (builder.knobs["tags"] if builder else None)

    def denial(self, operation, params):
        """(deny, AccessDeniedException) when a deny refuses this call, else None."""
        with self.lock:
            self.fleet.tick()
            name = arn = tags = None
            if operation in denies.SINGLE_RESOURCE:
                name, arn, tags = self._resource(operation, params)
            deny = self.denies.match(operation, name, tags)
            if deny is None:
                return None
            text = denies.message(self.caller_arn(), operation, arn, deny["reason"])
            return deny, ApiError("AccessDeniedException", text)

    def denied_error(self, operation, params, reason="explicit"):
        """The AccessDeniedException this call would meet, for the access_denied fault."""
        with self.lock:
            arn = None
            if operation in denies.SINGLE_RESOURCE:
                arn = self._resource(operation, params)[1]
            return ApiError("AccessDeniedException",
                            denies.message(self.caller_arn(), operation, arn, reason))

    def describe_badly(self, operation, params, fault):
        """A Describe call as a listing fault answers it (see faults.py)."""
        with self.lock:
            return self.listing(operation).describe_badly(params, fault)

    def preview(self, operation, params):
        """What a mutating call would answer about its builder, without performing it."""
        with self.lock:
            if operation in ("TagResource", "UntagResource"):
                return {}
            self.fleet.tick()
            builder = self.fleet.builders.get(params.get("Name"))
            if builder is None:
                return {}
            return {"ImageBuilder": self.fleet.render(builder)}

    def state_on_disk(self, name):
        """What the watched state file says of builder name's operation right now."""
        path = self.config.watch_state
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
        except (OSError, ValueError) as exc:
            return {"phase": None, "error": f"{type(exc).__name__}: {exc}"}
        phases = {op.get("builder"): op.get("phase") for op in document.get("operations", [])}
        return {"phase": phases.get(name), "error": None}

    def log_call(self, entry):
        with self.lock:
            entry["seq"] = next(self._call_seq)
            self.calls.append(entry)

    def calls_since(self, since=0, operation=None):
        with self.lock:
            return [copy.deepcopy(c) for c in self.calls
                    if c["seq"] > since and (operation is None or c["operation"] == operation)]


def names_in(params):
    """Names a request refers to, for the call log and fault matching: a builder's
    ``Name``, the ``Names`` of builders, images or fleets, the name in a builder ARN
    (``...:image-builder/NAME``), or the names in DescribeImages' image ARNs
    (``...:image/NAME``)."""
    if isinstance(params.get("Name"), str):
        return [params["Name"]]
    arn = params.get("ResourceArn")
    if isinstance(arn, str):
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] == "appstream" and parts[5].startswith(BUILDER_PREFIX):
            return [parts[5][len(BUILDER_PREFIX):]]
        return []
    out = []
    names = params.get("Names")
    if isinstance(names, list):
        out += [n for n in names if isinstance(n, str)]
    arns = params.get("Arns")
    if isinstance(arns, list):
        for item in arns:
            parts = item.split(":", 5) if isinstance(item, str) else []
            if len(parts) == 6 and parts[5].startswith(IMAGE_PREFIX):
                out.append(parts[5][len(IMAGE_PREFIX):])
    return out

