"""Everything one fake server knows, behind one lock: settings, clocks, the estates (each
account's builders, images, AppStream fleets, faults and denies in each region; see
estates.py), credentials, the organization (see fake_organizations) and the call log.
``reset()`` returns to the start-up state."""

import copy
import itertools
import json
import random
import re
import threading
import urllib.parse

from fake_organizations.organization import Organization

from . import DEFAULT_OLD_VERSION
from . import estate as seeded_estate
from .clock import Clocks
from .config import Config
from .estates import Estate, EstateConfig
from .model import ApiModel
from .sigv4 import CredentialTable, Verifier

BUILDER_PREFIX = "image-builder/"
IMAGE_PREFIX = "image/"
# AppStream's endpoints (standard, FIPS, dual-stack): the region a request is sent to.
_REGIONAL_HOST = re.compile(r"^appstream2(?:-fips)?\.([a-z0-9-]+)\."
                            r"(?:amazonaws\.com(?:\.cn)?|api\.aws)$")


def region_of_host(host):
    """The region an AppStream endpoint host name names (``appstream2.eu-west-1.
    amazonaws.com``), or None (an IP address, localhost, any other name)."""
    try:
        name = urllib.parse.urlsplit("//" + (host or "")).hostname or ""
    except ValueError:
        name = ""
    match = _REGIONAL_HOST.match(name)
    return match.group(1) if match else None


class FakeState:
    def __init__(self, settings=None, credentials=(), seed_fleet=None, model=None,
                 seed_estate=False):
        """settings: Config overrides; credentials: CredentialTable entries; seed_fleet:
        keyword arguments of Fleet.generate for the start-up fleet (or None); seed_estate:
        add estate.py's images and fleets too (and point seeded builders at them). Both
        seed the default estate."""
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
            self.default = Estate(self.config, self.clocks)
            self.estates = {}
            if seed_fleet:
                self.fleet.generate(**seed_fleet)
            if self._seed_estate:
                old = (seed_fleet or {}).get("version") or DEFAULT_OLD_VERSION
                seeded_estate.seed(self.images, self.fleets, self.fleet, self.config, old)
            self.credentials = CredentialTable(credentials, self.clocks.wall())
            self.organization = Organization(self.config.account_id, self.clocks)
            self.calls = []
            self._call_seq = itertools.count(1)
            # Requests that arrived before this reset belong to the test before: one still
            # being answered (a slow fault) neither acts on the new fleet nor joins its log.
            self.generation = getattr(self, "generation", 0) + 1
            self.rng = random.Random(self.config.seed)
            self._error_count = 0

    # ---- the default estate, as every control request that names none sees it --------

    @property
    def fleet(self):
        return self.default.fleet

    @property
    def images(self):
        return self.default.images

    @property
    def fleets(self):
        return self.default.fleets

    @property
    def faults(self):
        return self.default.faults

    @property
    def denies(self):
        return self.default.denies

    def delete_image(self, name):
        """Delete a defined image of the default estate."""
        with self.lock:
            return self.default.delete_image(name)

    # ---- estates and accounts --------------------------------------------------------

    def estate(self, account, region, create=False):
        """The estate of (account, region): the default one when they are the settings'
        account_id and region; another one made empty when `create`, else None."""
        with self.lock:
            if (account, region) == (self.config.account_id, self.config.region):
                return self.default
            found = self.estates.get((account, region))
            if found is None and create:
                found = self.estates[(account, region)] = Estate(
                    EstateConfig(self.config, account, region), self.clocks)
            return found

    def all_estates(self):
        """The default estate, then the others by account and region."""
        with self.lock:
            return [self.default] + [self.estates[k] for k in sorted(self.estates)
                                     if k != (self.config.account_id, self.config.region)]

    def served_regions(self):
        """Regions whose requests the fake serves: its ``region``, the ``regions``
        setting and the region of every estate."""
        with self.lock:
            return ({self.config.region} | set(self.config.regions)
                    | {region for _, region in self.estates})

    def account_of(self, entry):
        """The account the credentials `entry` belong to (the default one when they name
        none)."""
        return entry.get("account") or self.config.account_id

    def account_of_key(self, key_id):
        """The account of an access key id the fake knows, else None."""
        with self.lock:
            entry = self.credentials.entries.get(key_id)
            return self.account_of(entry) if entry else None

    def region_disabled(self, account, region):
        with self.lock:
            return region in self.config.disabled_regions.get(account, ())

    def caller_arn(self, entry=None, account=None):
        """The identity AccessDeniedException messages name: the ``caller_arn`` setting,
        else the identity of the credentials (fake_sts passes the assumed role's), else
        a user of their account."""
        with self.lock:
            account = account or self.config.account_id
            return (self.config.caller_arn or (entry or {}).get("arn")
                    or f"arn:aws:iam::{account}:user/appstream-agent-reconciler")

    # ---- settings and credentials ----------------------------------------------------

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

    def verifier(self, host=None):
        """The Verifier of an AppStream request sent to `host` (its Host header): only
        the region the host names, else every region served."""
        with self.lock:
            regions = self.served_regions()
            named = region_of_host(host)
            if named is not None:
                regions &= {named}

            def disabled(entry, region):
                return region in self.config.disabled_regions.get(self.account_of(entry), ())

            return Verifier(self.credentials, regions, self.clocks.wall(),
                            self.config.max_skew, self.config.auth_error_status,
                            disabled=disabled)

    def organizations_verifier(self):
        """The Verifier of an Organizations request: its signing name and region."""
        with self.lock:
            return Verifier(self.credentials, self.organization.settings.region,
                            self.clocks.wall(), self.config.max_skew,
                            self.config.auth_error_status, signing_name="organizations")

    def error_wire(self, error):
        """Body and headers for an error, in the configured (or the alternating) form."""
        with self.lock:
            form = self.config.error_format
            namespaced = form == "namespaced" or (form == "alternate" and self._error_count % 2)
            self._error_count += 1
            return error.wire(bool(namespaced), self.config.error_type_header)

    # ---- API calls, on one estate ----------------------------------------------------

    def pick_fault(self, estate, operation, names, continuation=False):
        with self.lock:
            return estate.faults.pick(operation, names, self.rng, continuation)

    def execute(self, estate, operation, params):
        """Run an API operation in `estate`; return its result dict or raise ApiError."""
        with self.lock:
            return estate.execute(operation, params)

    def denial(self, estate, operation, params, caller):
        """(deny, AccessDeniedException) when a deny of `estate` refuses this call by
        `caller` (an ARN), else None."""
        with self.lock:
            return estate.denial(operation, params, caller)

    def denied_error(self, estate, operation, params, caller, reason="explicit"):
        with self.lock:
            return estate.denied_error(operation, params, caller, reason)

    def describe_badly(self, estate, operation, params, fault):
        with self.lock:
            return estate.describe_badly(operation, params, fault)

    def preview(self, estate, operation, params):
        with self.lock:
            return estate.preview(operation, params)

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

    # ---- the call log ----------------------------------------------------------------

    def log_call(self, entry):
        with self.lock:
            if entry.get("generation", self.generation) != self.generation:
                entry["seq"] = None
                return
            entry["seq"] = next(self._call_seq)
            self.calls.append(entry)

    @staticmethod
    def _selected(call, operation, filters):
        return ((operation is None or call["operation"] == operation)
                and all(call.get(key) == value for key, value in filters.items()))

    def calls_since(self, since=0, operation=None, **filters):
        """Calls after `since` of `operation` whose fields have the values `filters`
        give (account, region, service)."""
        with self.lock:
            return [copy.deepcopy(c) for c in self.calls
                    if c["seq"] > since and self._selected(c, operation, filters)]

    def clear_calls(self, **filters):
        """Forget the calls whose fields have the values `filters` give (all without)."""
        with self.lock:
            self.calls[:] = [c for c in self.calls if not self._selected(c, None, filters)]


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

