"""The images the fake holds, and DescribeImages over them.

Images are defined through the control API (``/_fake/images``) as builders are: a dict
whose capitalised keys are API members (answered as given, unknown members and unknown
``State`` values included; ``None`` leaves one out) and whose snake_case keys are knobs.
Members not given take realistic defaults (see ``default_fields``):

``Name``, ``DisplayName``, ``Description``
    The name (any string, even one AWS never allows, as for builders).
``Arn``
    ``arn:aws:appstream:REGION:ACCOUNT:image/NAME`` for a PRIVATE image;
    ``arn:aws:appstream:REGION::image/NAME`` (no account) for a PUBLIC one, as AWS's own
    base images have; for a SHARED one the account is the owner's (``SHARED_OWNER``), as an
    image another account shares carries that account. Derived when the image is shown,
    from the settings and ``Visibility``, unless given; defined as null, left out.
``Visibility``
    ``PRIVATE`` by default; ``PUBLIC`` or ``SHARED``.
``State``
    ``AVAILABLE`` by default. The model's states are PENDING, AVAILABLE, FAILED, COPYING,
    DELETING, CREATING and IMPORTING; images do not move between them by themselves (an
    external actor moves them: ``POST /_fake/images/NAME``). An image defined FAILED gets
    a ``StateChangeReason`` and ``ImageErrors``.
``BaseImageArn``, ``ImageBuilderName``
    For a private image: the public image it was made from and the builder that made it
    (``NAME-builder``). A shared image has no ``ImageBuilderName`` (the model says it is
    null then), a public one neither.
``ImageBuilderSupported``, ``Platform``, ``CreatedTime``, ``PublicBaseImageReleasedDate``,
``ImagePermissions``, ``Applications``
    Realistic values varied by name; times in epoch seconds, as the API sends them.
``AppstreamAgentVersion``
    The latest agent (the ``latest_version`` setting) unless given.
``LatestAppstreamAgentVersion``
    ``TRUE`` exactly when the image's agent is not older than ``latest_version``, as for
    builders. The current API returns it for images; the AppStream model of Debian's
    botocore (1.29.27) does not list it on ``Image`` yet (the project's reference model in
    tests/data has it), so botocore and the AWS CLI drop it while parsing. The global
    ``omit_latest_flag`` setting and the knobs below apply.

Knobs: ``omit_latest_flag`` (true/false overrides the setting for this image; null follows
it) and ``latest_flag`` (``"TRUE"``/``"FALSE"`` forces the flag; null computes it).

Public images AWS provides are many; the fake answers those defined (``Visibility``
``PUBLIC``) and, besides, every public image a builder's ``ImageArn`` or a fleet's
``ImageArn``/``ImageName`` refers to (an account-less ARN, or a fleet's image name that
names no image defined here). Such an implied image cannot be changed or deleted; defining
one with its name replaces it. A private image exists only when defined: a builder or a
fleet made from an image that was deleted keeps its ``ImageArn``, as at AWS.

DescribeImages, with the model's validation done before (``Names`` and ``Arns`` are lists
of strings and ARNs, ``Type`` one of PUBLIC, PRIVATE, SHARED, ``MaxResults`` 0 to 25):

* ``Names`` and ``Arns`` together: ``InvalidParameterCombinationException`` (one of the two
  errors the model lists for it).
* A name or ARN of no image: ``ResourceNotFoundException`` (the other).
* ``Type`` keeps the images of that visibility among those selected.
* Pages by name: ``MaxResults``, else ``page_size`` up to 25 (see pagination.py).
"""

import copy
import zlib

from . import pagination
from .errors import ApiError, not_found
from .fleet import DEFAULT_IMAGE, drop_nulls, latest_flag, numbered, split_spec

STATES = ("PENDING", "AVAILABLE", "FAILED", "COPYING", "DELETING", "CREATING", "IMPORTING")
VISIBILITIES = ("PUBLIC", "PRIVATE", "SHARED")
KNOBS = {"omit_latest_flag": None, "latest_flag": None}
# The account of shared images: AWS's documentation example account.
SHARED_OWNER = "111122223333"
MAX_RESULTS = 25
_DAY = 86400.0


def _check_knob(key, value):
    if key == "omit_latest_flag" and value is not None and not isinstance(value, bool):
        raise ValueError("omit_latest_flag must be true, false or null")
    if key == "latest_flag" and value not in (None, "TRUE", "FALSE"):
        raise ValueError("latest_flag must be \"TRUE\", \"FALSE\" or null")
    return copy.deepcopy(value)


def public_arn(region, name):
    return f"arn:aws:appstream:{region}::image/{name}"


def image_name(arn):
    """The name at the end of an image ARN (``...:image/NAME``), or None."""
    if not isinstance(arn, str):
        return None
    head, sep, name = arn.partition(":image/")
    return name if sep and head.startswith("arn:") else None


class Image:
    def __init__(self, fields, knobs, implied=False, omit_arn=False):
        self.fields = fields
        self.knobs = {**copy.deepcopy(KNOBS), **knobs}
        self.implied = implied
        self.omit_arn = omit_arn

    @property
    def name(self):
        return self.fields["Name"]


class ImageSet:
    OPERATION = "DescribeImages"
    RESULT_KEY = "Images"

    def __init__(self, config, clocks, pager, references=None):
        """references(): (image ARN, the referrer's members) for every builder and fleet,
        from which the public images they use are implied."""
        self.config = config
        self.clocks = clocks
        self.pager = pager
        self.images = {}
        self.references = references or (lambda: [])
        # Implied images are made anew for every answer: their times are fixed from here.
        self._born = clocks.wall()

    # ---- definition (control API) -------------------------------------------------

    def default_fields(self, name, version, state="AVAILABLE", visibility="PRIVATE",
                       now=None):
        """A realistic image of this visibility, varied by name, made by `now` (epoch
        seconds, default the wall clock's now)."""
        seed = zlib.crc32(name.encode())
        region = self.config.region
        now = self.clocks.wall() if now is None else now
        created = round(now - (10 + seed % 200) * _DAY, 3)
        fields = {
            "Name": name,
            "DisplayName": name,
            "Description": f"Image {name}",
            "State": state,
            "Visibility": visibility,
            "ImageBuilderSupported": True,
            "Platform": ("WINDOWS_SERVER_2019", "WINDOWS_SERVER_2016")[seed % 3 == 0],
            "CreatedTime": created,
            "PublicBaseImageReleasedDate": round(created - (20 + seed % 90) * _DAY, 3),
            "AppstreamAgentVersion": version,
            "ImagePermissions": {"allowFleet": True, "allowImageBuilder": True},
            "Applications": [],
        }
        if visibility != "PUBLIC":
            fields["BaseImageArn"] = public_arn(region, DEFAULT_IMAGE)
            fields["Applications"] = [{
                "Name": f"app-{seed % 1000:03d}",
                "DisplayName": "Line of business application",
                "IconURL": f"https://appstream2.{region}.aws.amazon.com/icons/{seed:08x}.png",
                "LaunchPath": "C:\\Program Files\\Example\\app.exe",
                "Enabled": True,
                "Metadata": {},
                "Platforms": [fields["Platform"]],
            }]
        if visibility == "PRIVATE":
            fields["ImageBuilderName"] = f"{name}-builder"
        if visibility == "SHARED":
            fields["ImagePermissions"] = {"allowFleet": True,
                                          "allowImageBuilder": seed % 2 == 0}
        if state == "FAILED":
            fields["StateChangeReason"] = {"Code": "INTERNAL_ERROR",
                                           "Message": "The image could not be created."}
            fields["ImageErrors"] = [{"ErrorCode": "INTERNAL_SERVICE_ERROR",
                                      "ErrorMessage": "The image could not be created.",
                                      "ErrorTimestamp": created}]
        return fields

    def put(self, spec):
        """Add an image, or replace the one with the same name; returns the name."""
        fields, knobs = split_spec(spec, "image", KNOBS, _check_knob)
        name = fields.get("Name")
        if not isinstance(name, str):
            raise ValueError("an image needs a Name (a string)")
        merged = self.default_fields(
            name, fields.get("AppstreamAgentVersion", self.config.latest_version),
            fields.get("State", "AVAILABLE"), fields.get("Visibility", "PRIVATE"))
        merged.update(fields)
        drop_nulls(merged)
        self.images[name] = Image(merged, knobs,
                                  omit_arn="Arn" in fields and fields["Arn"] is None)
        return name

    def generate(self, count, prefix="image-", version=None, state="AVAILABLE", first=1,
                 visibility="PRIVATE"):
        """Add `count` realistic images named prefix01, prefix02, ..."""
        version = version or self.config.latest_version
        return [self.put({"Name": name, "AppstreamAgentVersion": version, "State": state,
                          "Visibility": visibility})
                for name in numbered(prefix, count, first)]

    def _defined(self, name):
        image = self.images.get(name)
        if image is not None:
            return image
        if name in self._implied():
            raise ValueError(f"image {name!r} is a public image implied by the builders or "
                             "fleets that use it; define it to change it")
        raise not_found("image", name)

    def update(self, name, spec):
        """Change an image as an external actor would: members given replace (null
        removes), knobs are set. Returns the image as the API shows it."""
        image = self._defined(name)
        fields, knobs = split_spec(spec, "image", KNOBS, _check_knob)
        if "Name" in fields and fields["Name"] != name:
            raise ValueError("an image cannot be renamed")
        image.fields.update(fields)
        drop_nulls(image.fields)
        image.knobs.update(knobs)
        if "Arn" in fields:
            image.omit_arn = fields["Arn"] is None
        return self.render(image)

    def delete(self, name):
        """Delete a defined image; returns the ARN it had."""
        arn = self.render(self._defined(name)).get("Arn")
        del self.images[name]
        return arn

    def snapshot(self):
        """Every image DescribeImages shows, plus ``_fake``: its knobs and whether it is
        implied by the builders or fleets that use it."""
        out = []
        every = self._every()
        for name in sorted(every):
            image = every[name]
            item = self.render(image)
            item["_fake"] = {"knobs": copy.deepcopy(image.knobs), "implied": image.implied}
            out.append(item)
        return out

    # ---- what the API shows -------------------------------------------------------

    def arn(self, name, visibility="PRIVATE"):
        region, account = self.config.region, self.config.account_id
        if visibility == "PUBLIC":
            return public_arn(region, name)
        if visibility == "SHARED":
            account = SHARED_OWNER
        return f"arn:aws:appstream:{region}:{account}:image/{name}"

    def render(self, image):
        out = copy.deepcopy(image.fields)
        if not image.omit_arn:
            out.setdefault("Arn", self.arn(image.name, out.get("Visibility")))
        omit = image.knobs["omit_latest_flag"]
        if omit is None:
            omit = self.config.omit_latest_flag
        if not omit:
            flag = image.knobs["latest_flag"]
            out["LatestAppstreamAgentVersion"] = flag or latest_flag(
                out.get("AppstreamAgentVersion"), self.config.latest_version)
        return out

    def _implied(self):
        """The public images builders and fleets use that are not defined, by name."""
        out = {}
        for arn, referrer in self.references():
            name = image_name(arn)
            if name is None or "::image/" not in arn or name in self.images or name in out:
                continue
            fields = self.default_fields(name, referrer.get("AppstreamAgentVersion")
                                         or self.config.latest_version, visibility="PUBLIC",
                                         now=self._born)
            fields.update({"Arn": arn, "Description": f"Base image {name}"})
            if referrer.get("Platform"):
                fields["Platform"] = referrer["Platform"]
            out[name] = Image(fields, {}, implied=True)
        return out

    def _every(self):
        return {**self._implied(), **self.images}

    def resolve(self, name):
        """The ARN of the image a fleet names: the one defined here, else AWS's public one."""
        image = self.images.get(name)
        if image is not None:
            return self.render(image).get("Arn")
        return public_arn(self.config.region, name)

    # ---- DescribeImages (see pagination.py) -----------------------------------------

    def tick(self):
        pass

    def filter_key(self, params):
        return {k: params.get(k) for k in ("Names", "Arns", "Type")}

    def selection(self, params):
        names, arns = params.get("Names") or None, params.get("Arns") or None
        if names and arns:
            raise ApiError("InvalidParameterCombinationException",
                           "Names and Arns cannot be specified together.")
        every = self._every()
        if arns:
            by_arn = {self.render(image).get("Arn"): name for name, image in every.items()}
            for arn in arns:
                if arn not in by_arn:
                    raise not_found("image", arn)
            chosen = {by_arn[arn] for arn in arns}
        elif names:
            for name in names:
                if name not in every:
                    raise not_found("image", name)
            chosen = set(names)
        else:
            chosen = set(every)
        kind = params.get("Type")
        if kind:
            chosen = {n for n in chosen if self.render(every[n]).get("Visibility") == kind}
        return sorted(chosen)

    def all_names(self):
        return sorted(self._every())

    def item(self, name):
        image = self.images.get(name) or self._implied()[name]
        return self.render(image)

    def limit(self, params):
        return pagination.max_results(params, self.config.page_size, MAX_RESULTS)

    def describe(self, params):
        """DescribeImages."""
        return pagination.describe(self, params)

    def describe_badly(self, params, fault):
        """DescribeImages as a listing fault answers it (see faults.py)."""
        return pagination.describe_badly(self, params, fault)
