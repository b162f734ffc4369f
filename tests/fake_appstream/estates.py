"""Estates: what one AWS account holds in one region, as AppStream serves it.

AWS keeps every account's resources apart in every region: the same request answers
differently for the credentials of another account or the endpoint of another region. The
fake does the same. An estate is one (account, region): its image builders (``fleet``),
images, AppStream fleets, pagination tokens, faults and IAM-style denies.

Which estate a request reaches:

* the account is the one the signing credentials belong to (their ``account``; see
  sigv4.CredentialTable), the fake's ``account_id`` setting for credentials given none
  (the default credentials, and any a test adds without one);
* the region is the one the request is served in: the region the ``Host`` names
  (``appstream2.REGION.amazonaws.com``, ``appstream2-fips.REGION...``) when it names one,
  else the region of the SigV4 credential scope. It must be a region the fake serves (see
  ``FakeState.served_regions``), else ``InvalidSignatureException`` ("Credential should be
  scoped to a valid region"), as before;
* a region the account has not enabled (the ``disabled_regions`` setting) is
  ``UnrecognizedClientException`` ("The security token included in the request is
  invalid."), the answer of AWS's JSON services in an opt-in region the account never
  enabled: the region's IAM does not know the account's credentials.

The default estate is the fake's ``account_id`` and ``region`` settings: everything the
control API does without naming an estate acts on it, and it follows those settings when
they change (another estate of the (account, region) they come to name is then hidden
behind it). Every other estate is made on demand, by the control API
(``POST /_fake/estates``) or by the first request of a known account in a served region,
which finds it empty: no builders, images or fleets, as a real account's region with
nothing in it. ARNs carry the estate's region and account.

Settings (latest version, durations, page size, error form, ...) are the fake's, shared by
every estate; faults and denies are the estate's own, so one account can be throttled or
denied while another answers. The call log is one, each entry naming its ``account`` and
``region``.
"""

from . import denies
from .errors import ApiError
from .faults import FaultTable
from .fleet import Fleet
from .fleets import FleetSet
from .images import ImageSet
from .pagination import Pager

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
READ_ONLY = {"DescribeImageBuilders", "DescribeImages", "DescribeFleets",
             "ListTagsForResource"}


class EstateConfig:
    """The fake's settings as one estate sees them: its own ``account_id`` and ``region``,
    every other setting the fake's (read when used, so changes apply at once)."""

    def __init__(self, settings, account, region):
        self._settings = settings
        self.account_id = account
        self.region = region

    def __getattr__(self, name):
        return getattr(self._settings, name)


class Estate:
    """One (account, region). Not thread-safe by itself: FakeState's lock guards it."""

    def __init__(self, config, clocks):
        """config: the fake's Config for the default estate (whose account and region
        follow the settings), an EstateConfig for any other."""
        self.config = config
        self.clocks = clocks
        pager = Pager(config, clocks)
        self.fleet = Fleet(config, clocks, pager)
        self.images = ImageSet(config, clocks, pager, self._image_references)
        self.fleets = FleetSet(config, clocks, pager, self.images)
        self.faults = FaultTable(OPERATIONS)
        self.denies = denies.DenyTable(OPERATIONS)

    @property
    def account(self):
        return self.config.account_id

    @property
    def region(self):
        return self.config.region

    def summary(self):
        return {"account": self.account, "region": self.region,
                "builders": len(self.fleet.builders), "images": len(self.images.images),
                "fleets": len(self.fleets.fleets), "faults": len(self.faults.as_list()),
                "denies": len(self.denies.as_list())}

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
        image = self.images.images.get(name)
        if image is not None:
            self.fleets.keep_image_arn(self.images.render(image).get("Arn"))
        return self.images.delete(name)

    def listing(self, operation):
        """The builders, images or fleets a Describe operation lists."""
        return {"DescribeImageBuilders": self.fleet, "DescribeImages": self.images,
                "DescribeFleets": self.fleets}[operation]

    def execute(self, operation, params):
        """Run an API operation; return its result dict or raise ApiError."""
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

    def denial(self, operation, params, caller):
        """(deny, AccessDeniedException) when a deny refuses this call by `caller` (an
        ARN), else None."""
        self.fleet.tick()
        name = arn = tags = None
        if operation in denies.SINGLE_RESOURCE:
            name, arn, tags = self._resource(operation, params)
        deny = self.denies.match(operation, name, tags)
        if deny is None:
            return None
        text = denies.message(caller, operation, arn, deny["reason"])
        return deny, ApiError("AccessDeniedException", text)

    def denied_error(self, operation, params, caller, reason="explicit"):
        """The AccessDeniedException this call would meet, for the access_denied fault."""
        arn = None
        if operation in denies.SINGLE_RESOURCE:
            arn = self._resource(operation, params)[1]
        return ApiError("AccessDeniedException",
                        denies.message(caller, operation, arn, reason))

    def describe_badly(self, operation, params, fault):
        """A Describe call as a listing fault answers it (see faults.py)."""
        return self.listing(operation).describe_badly(params, fault)

    def preview(self, operation, params):
        """What a mutating call would answer about its builder, without performing it."""
        if operation in ("TagResource", "UntagResource"):
            return {}
        self.fleet.tick()
        builder = self.fleet.builders.get(params.get("Name"))
        if builder is None:
            return {}
        return {"ImageBuilder": self.fleet.render(builder)}
