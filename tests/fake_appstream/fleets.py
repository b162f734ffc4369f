"""AppStream fleets (the streaming instances users connect to), and DescribeFleets.

Not to be confused with fleet.py, which holds the image builders.

Fleets are defined through the control API (``/_fake/fleets``) as builders are: capitalised
keys are API members (answered as given, unknown members and unknown ``State`` values
included; ``None`` leaves one out), snake_case keys are knobs. Members not given take
realistic defaults (see ``default_fields``):

``Arn``
    ``arn:aws:appstream:REGION:ACCOUNT:fleet/NAME``, derived when shown unless given.
``ImageName``, ``ImageArn``
    The image the fleet runs: one of the fake's images (images.py) or a public one, by
    name or by ARN. Given only ``ImageArn``, the name is the ARN's last part; given only
    ``ImageName`` (the default ``AppStream-WinServer2019-06-12-2023``), the ARN is that of
    the image of this name the fake holds, else the public image's
    (``arn:aws:appstream:REGION::image/NAME``), looked up when the fleet is shown. When a
    defined image is deleted, the fleets that use it keep its ARN, as at AWS.
``FleetType``
    ``ALWAYS_ON`` or ``ON_DEMAND`` (varied by name), or ``ELASTIC``.
``State``
    ``RUNNING`` by default; the model's states are STARTING, RUNNING, STOPPING and
    STOPPED. Fleets do not move between them by themselves (an external actor moves them:
    ``POST /_fake/fleets/NAME``).
``ComputeCapacityStatus``
    Derived when shown, unless given, from the state and the knobs ``capacity`` and
    ``in_use`` (it, ``Arn``, ``ImageArn`` and ``MaxConcurrentSessions`` are left out when
    defined as null): ``Desired`` is the capacity; ``Running`` the capacity when RUNNING
    or STOPPING, else 0; ``InUse`` the sessions in use when RUNNING (at most the
    capacity), else 0; ``Available`` what runs and is not in use when RUNNING, else 0. An
    ELASTIC fleet has no instances of its own: ``MaxConcurrentSessions`` is its capacity,
    ``Desired``, ``Running`` and ``InUse`` the sessions in use, ``Available`` 0.
``InstanceType``, ``Platform``, ``VpcConfig``, ``MaxUserDurationInSeconds``,
``DisconnectTimeoutInSeconds``, ``IdleDisconnectTimeoutInSeconds``, ``StreamView``,
``EnableDefaultInternetAccess``, ``CreatedTime``, ``FleetErrors`` (and, for some names,
``IamRoleArn``, ``DomainJoinInfo``, ``SessionScriptS3Location``)
    Realistic values varied by name (``Platform`` that of the fleet's image when the fake
    defines it); times in epoch seconds, as the API sends them.

Knobs: ``capacity`` (desired instances, or an ELASTIC fleet's maximum sessions; default
2 to 5 by name) and ``in_use`` (sessions in use; default varied by name).

DescribeFleets, with the model's validation done before (``Names`` a list of strings):

* A name of no fleet: ``ResourceNotFoundException``, the only error the model lists.
* Pages by name: the model has no ``MaxResults``; ``page_size`` items a page (see
  pagination.py).
"""

import copy
import zlib

from . import pagination
from .errors import not_found
from .fleet import DEFAULT_IMAGE, drop_nulls, numbered, split_spec
from .images import image_name

STATES = ("STARTING", "RUNNING", "STOPPING", "STOPPED")
FLEET_TYPES = ("ALWAYS_ON", "ON_DEMAND", "ELASTIC")
KNOBS = {"capacity": None, "in_use": None}
# Members derived when a fleet is shown; one defined as null is left out instead.
DERIVED = ("Arn", "ImageArn", "ComputeCapacityStatus", "MaxConcurrentSessions")
_DAY = 86400.0


def _check_knob(key, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise ValueError(f"{key} must be a non-negative integer or null")
    return value


def left_out(fields, derived, current=()):
    """The derived members to leave out after a definition or change `fields` (null
    leaves one out, a value brings it back)."""
    out = set(current)
    for key in derived:
        if key in fields:
            if fields[key] is None:
                out.add(key)
            else:
                out.discard(key)
    return out


class StreamingFleet:
    def __init__(self, fields, knobs, omitted=()):
        self.fields = fields
        self.knobs = {**copy.deepcopy(KNOBS), **knobs}
        self.omitted = set(omitted)

    @property
    def name(self):
        return self.fields["Name"]


class FleetSet:
    OPERATION = "DescribeFleets"
    RESULT_KEY = "Fleets"

    def __init__(self, config, clocks, pager, images):
        """images: the images.ImageSet that ImageName is resolved against."""
        self.config = config
        self.clocks = clocks
        self.pager = pager
        self.images = images
        self.fleets = {}

    # ---- definition (control API) -------------------------------------------------

    def default_fields(self, name, state="RUNNING", fleet_type=None, image=None):
        """A realistic fleet, varied by name."""
        seed = zlib.crc32(name.encode())
        region, account = self.config.region, self.config.account_id
        fields = {
            "Name": name,
            "DisplayName": name,
            "Description": f"Fleet {name}",
            "ImageName": image or DEFAULT_IMAGE,
            "InstanceType": ("stream.standard.medium", "stream.standard.large",
                             "stream.compute.large")[seed % 3],
            "FleetType": fleet_type or ("ALWAYS_ON", "ON_DEMAND")[seed % 2],
            "MaxUserDurationInSeconds": 57600,
            "DisconnectTimeoutInSeconds": 900,
            "IdleDisconnectTimeoutInSeconds": (0, 600, 900)[seed % 3],
            "State": state,
            "VpcConfig": {
                "SubnetIds": [f"subnet-{seed:08x}1a2b3c4d", f"subnet-{seed:08x}5e6f7a8b"],
                "SecurityGroupIds": [f"sg-{seed:08x}9c0d1e2f"],
            },
            "CreatedTime": round(self.clocks.wall() - (5 + seed % 300) * _DAY, 3),
            "FleetErrors": [],
            "EnableDefaultInternetAccess": seed % 4 == 0,
            "StreamView": ("APP", "DESKTOP")[seed % 5 == 3],
            "Platform": ("WINDOWS_SERVER_2019", "WINDOWS_SERVER_2016")[seed % 3 == 0],
        }
        if seed % 3 == 1:
            fields["IamRoleArn"] = f"arn:aws:iam::{account}:role/AppStreamFleetRole"
        if seed % 5 == 2:
            fields["DomainJoinInfo"] = {
                "DirectoryName": "corp.example.com",
                "OrganizationalUnitDistinguishedName": "OU=AppStream,DC=corp,DC=example,DC=com",
            }
        if seed % 7 == 4:
            fields["SessionScriptS3Location"] = {
                "S3Bucket": f"appstream-session-scripts-{account}-{region}",
                "S3Key": f"{name}/config.json",
            }
        return fields

    def put(self, spec):
        """Add a fleet, or replace the one with the same name; returns the name."""
        fields, knobs = split_spec(spec, "fleet", KNOBS, _check_knob)
        name = fields.get("Name")
        if not isinstance(name, str):
            raise ValueError("a fleet needs a Name (a string)")
        image = fields.get("ImageName")
        if image is None and "ImageName" not in fields:
            image = image_name(fields.get("ImageArn"))
        merged = self.default_fields(name, fields.get("State", "RUNNING"),
                                     fields.get("FleetType"), image)
        defined = self.images.images.get(merged["ImageName"])
        if defined is not None and defined.fields.get("Platform"):
            merged["Platform"] = defined.fields["Platform"]
        merged.update(fields)
        drop_nulls(merged)
        self.fleets[name] = StreamingFleet(merged, knobs, left_out(fields, DERIVED))
        return name

    def generate(self, count, prefix="fleet-", image=None, state="RUNNING", first=1,
                 fleet_type=None):
        """Add `count` realistic fleets named prefix01, prefix02, ..., running `image`
        (an image name or ARN; default the public one)."""
        names = []
        for name in numbered(prefix, count, first):
            spec = {"Name": name, "State": state}
            if fleet_type is not None:
                spec["FleetType"] = fleet_type
            if isinstance(image, str) and image_name(image) is not None:
                spec["ImageArn"] = image
            elif image is not None:
                spec["ImageName"] = image
            names.append(self.put(spec))
        return names

    def _get(self, name):
        fleet = self.fleets.get(name)
        if fleet is None:
            raise not_found("fleet", name)
        return fleet

    def update(self, name, spec):
        """Change a fleet as an external actor would: members given replace (null removes),
        knobs are set. Returns the fleet as the API shows it."""
        fleet = self._get(name)
        fields, knobs = split_spec(spec, "fleet", KNOBS, _check_knob)
        if "Name" in fields and fields["Name"] != name:
            raise ValueError("a fleet cannot be renamed")
        fleet.fields.update(fields)
        drop_nulls(fleet.fields)
        fleet.knobs.update(knobs)
        fleet.omitted = left_out(fields, DERIVED, fleet.omitted)
        return self.render(fleet)

    def delete(self, name):
        self._get(name)
        del self.fleets[name]

    def keep_image_arn(self, arn):
        """Pin the ARN of the fleets that run the image `arn` (about to be deleted)."""
        for fleet in self.fleets.values():
            if "ImageArn" not in fleet.fields and self._image_arn(fleet) == arn:
                fleet.fields["ImageArn"] = arn

    def snapshot(self):
        """Every fleet as the API shows it, plus ``_fake``: its knobs."""
        return [{**self.render(self.fleets[name]),
                 "_fake": {"knobs": copy.deepcopy(self.fleets[name].knobs)}}
                for name in sorted(self.fleets)]

    def references(self):
        """(image ARN, members) of every fleet, for the images it implies."""
        return [(self._image_arn(f), f.fields) for _, f in sorted(self.fleets.items())]

    # ---- what the API shows -------------------------------------------------------

    def arn(self, name):
        return f"arn:aws:appstream:{self.config.region}:{self.config.account_id}:fleet/{name}"

    def _image_arn(self, fleet):
        if "ImageArn" in fleet.fields:
            return fleet.fields["ImageArn"]
        name = fleet.fields.get("ImageName")
        return self.images.resolve(name) if isinstance(name, str) else None

    def _capacity(self, fleet):
        seed = zlib.crc32(fleet.name.encode())
        capacity = fleet.knobs["capacity"]
        if capacity is None:
            capacity = 2 + seed % 4
        in_use = fleet.knobs["in_use"]
        if in_use is None:
            in_use = seed % (capacity + 1)
        return capacity, min(in_use, capacity)

    def render(self, fleet):
        derived = {"Arn": self.arn(fleet.name), "ImageArn": self._image_arn(fleet)}
        capacity, in_use = self._capacity(fleet)
        state = fleet.fields.get("State")
        if fleet.fields.get("FleetType") == "ELASTIC":
            derived["MaxConcurrentSessions"] = capacity
            sessions = in_use if state == "RUNNING" else 0
            derived["ComputeCapacityStatus"] = {"Desired": sessions, "Running": sessions,
                                                "InUse": sessions, "Available": 0}
        else:
            running = capacity if state in ("RUNNING", "STOPPING") else 0
            used = in_use if state == "RUNNING" else 0
            derived["ComputeCapacityStatus"] = {
                "Desired": capacity, "Running": running, "InUse": used,
                "Available": running - used if state == "RUNNING" else 0}
        out = copy.deepcopy(fleet.fields)
        for key, value in derived.items():
            if key not in fleet.omitted and value is not None:
                out.setdefault(key, value)
        return out

    # ---- DescribeFleets (see pagination.py) -----------------------------------------

    def tick(self):
        pass

    def filter_key(self, params):
        return params.get("Names") or None

    def selection(self, params):
        names = params.get("Names") or None
        if not names:
            return sorted(self.fleets)
        for name in names:
            self._get(name)
        return sorted(set(names))

    def all_names(self):
        return sorted(self.fleets)

    def item(self, name):
        return self.render(self.fleets[name])

    def limit(self, params):
        return self.config.page_size

    def describe(self, params):
        """DescribeFleets."""
        return pagination.describe(self, params)

    def describe_badly(self, params, fault):
        """DescribeFleets as a listing fault answers it (see faults.py)."""
        return pagination.describe_badly(self, params, fault)
