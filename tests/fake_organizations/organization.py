"""The organization: its settings, its accounts, who may list them, and ListAccounts.

Settings (``POST /_fake/organization``), each validated before any is applied:

``id`` (``o-a1b2c3d4e5``)
    The organization's id, in every account ARN (``o-`` and 10 to 32 of ``[a-z0-9]``).
``management_account`` (the fake's ``account_id`` at start-up or reset)
    The account that owns the organization, in every account ARN. It is an account of the
    organization from the start (``Name`` "Management", ``JoinedMethod`` INVITED); changing
    the setting adds or removes no account.
``enabled`` (true)
    false: the caller's account belongs to no organization as far as Organizations
    knows; every call is ``AWSOrganizationsNotInUseException``.
``delegated_administrators`` (``[]``)
    Member accounts that may list the accounts as the management account does.
``omit_state`` (false)
    Leave ``State`` out of every account, as answers before the field existed (and
    Debian's botocore 1.29.27 model, which lacks it) have it.
``omit_status`` (false)
    Leave ``Status`` out of every account, as answers after its retirement (announced
    for September 9, 2026) will.
``page_size`` (20)
    Accounts a page holds when the request has no ``MaxResults`` (1 to 20).
``region`` (``us-east-1``)
    The region of the SigV4 credential scope (Organizations is a global service signed
    for us-east-1 in the ``aws`` partition).

Accounts are defined like fake_appstream's builders: capitalised keys are API members,
answered as given (any member, even one AWS does not have; ``None`` leaves one out of
answers, a value brings it back), and a spec may be just an ``Id``. Members not given
take realistic defaults:

========================  ==================================================================
``Id``                    required (any string: a broken service could answer anything)
``Arn``                   ``arn:aws:organizations::<management>:account/<org id>/<Id>``,
                          following the settings
``Name``, ``Email``       ``account-<last 4 digits>``, ``<name>@example.com``
``State``                 ``ACTIVE``; any of PENDING_ACTIVATION, ACTIVE, SUSPENDED,
                          PENDING_CLOSURE, CLOSED (the newer model's AccountState) or any
                          other value
``Status``                follows ``State`` unless given: ACTIVE -> ACTIVE, SUSPENDED ->
                          SUSPENDED, PENDING_CLOSURE -> PENDING_CLOSURE, CLOSED ->
                          SUSPENDED (AWS: "When the close account request completes, the
                          status will change to SUSPENDED"), PENDING_ACTIVATION -> ACTIVE
                          (the fake's guess: AWS does not say; only ``State`` then tells
                          that the account is not usable); any other state -> ACTIVE
``JoinedMethod``          ``CREATED`` (the management account: ``INVITED``)
``JoinedTimestamp``       30 to 1,530 days ago, varied by ``Id`` (epoch seconds)
========================  ==================================================================

Closing an account, as AWS does it: ``PENDING_CLOSURE`` while the request is processed,
then ``CLOSED`` (``Status`` SUSPENDED) for the 90 days it can be reinstated, then it leaves
the organization (remove it). AWS suspending an account: ``SUSPENDED``.

ListAccounts lists every account of the organization, whatever its state, in the order
they joined (were added; a replaced account keeps its place), ``MaxResults`` (1 to 20)
or ``page_size`` a page. The ``NextToken`` resumes after the last account of its page, so
accounts added, removed or changed between pages neither repeat nor shift the others;
one that does not decode, or was handed out before a reset, is ``InvalidInputException``
with ``Reason`` ``INVALID_NEXT_TOKEN``.

Who may call (checked after authentication and validation, before faults): the
management account and the delegated administrators; another account of the
organization is ``AccessDeniedException`` ("You don't have permissions to access this
resource."); an account outside it (or any account while ``enabled`` is false) is
``AWSOrganizationsNotInUseException`` ("Your account is not a member of an
organization."). The caller's account is the one its credentials belong to (see
fake_appstream.estates).
"""

import base64
import copy
import hashlib
import hmac
import itertools
import json
import os
import re
import zlib

from fake_appstream.config import Settings
from fake_appstream.errors import ApiError
from fake_appstream.fleet import numbered, split_spec

from .errors import OrganizationsError, invalid_input
from .faults import FaultTable

STATES = ("PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED")
STATUS_OF_STATE = {"PENDING_ACTIVATION": "ACTIVE", "ACTIVE": "ACTIVE",
                   "SUSPENDED": "SUSPENDED", "PENDING_CLOSURE": "PENDING_CLOSURE",
                   "CLOSED": "SUSPENDED"}
MAX_RESULTS = 20
MAX_TOKEN = 100000
_MEMBER_ORDER = ("Id", "Arn", "Email", "Name", "Status", "State", "JoinedMethod",
                 "JoinedTimestamp")
_DAY = 86400.0
_ORG_ID = re.compile(r"o-[a-z0-9]{10,32}")
_MAC = 16


def _account_id(value, key):
    if not isinstance(value, str) or not (len(value) == 12 and value.isdigit()):
        raise ValueError(f"{key} must be a 12-digit account id, not {value!r}")
    return value


class OrganizationSettings(Settings):
    DEFAULTS = {
        "id": "o-a1b2c3d4e5",
        "management_account": "123456789012",
        "enabled": True,
        "delegated_administrators": [],
        "omit_state": False,
        "omit_status": False,
        "page_size": 20,
        "region": "us-east-1",
    }

    @staticmethod
    def _coerce(key, value, current):
        if key == "id":
            if not isinstance(value, str) or not _ORG_ID.fullmatch(value):
                raise ValueError(f"id must match o-[a-z0-9]{{10,32}}, not {value!r}")
            return value
        if key == "management_account":
            return _account_id(value, key)
        if key == "delegated_administrators":
            if not isinstance(value, list):
                raise ValueError("delegated_administrators must be a list of account ids")
            return [_account_id(v, key) for v in value]
        if key in ("enabled", "omit_state", "omit_status"):
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false, not {value!r}")
            return value
        if key == "page_size":
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 1 <= value <= MAX_RESULTS:
                raise ValueError(f"page_size must be an integer from 1 to {MAX_RESULTS}")
            return value
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string")
        return value


class Account:
    def __init__(self, fields, seq, omitted=()):
        """fields: the members (an absent Arn or Status is derived); omitted: members left
        out of answers, whatever their value."""
        self.fields = fields
        self.seq = seq
        self.omitted = set(omitted)

    @property
    def id(self):
        return self.fields["Id"]

    def change(self, fields):
        """Apply members of a definition: a value sets one (and brings it back), null
        leaves it out of answers (a left-out State still decides the derived Status)."""
        for key, value in fields.items():
            if value is None:
                self.omitted.add(key)
            else:
                self.fields[key] = copy.deepcopy(value)
                self.omitted.discard(key)


class Organization:
    """The accounts and settings; not thread-safe by itself (the fake's lock guards it)."""

    def __init__(self, management_account, clocks):
        self.clocks = clocks
        self.settings = OrganizationSettings(management_account=management_account)
        self.accounts = {}
        self.faults = FaultTable()
        self._seq = itertools.count(1)
        self._key = os.urandom(32)
        self.put({"Id": management_account, "Name": "Management",
                  "Email": "management@example.com", "JoinedMethod": "INVITED"})

    # ---- definition (control API) ----------------------------------------------------

    def arn(self, account_id):
        s = self.settings
        return f"arn:aws:organizations::{s.management_account}:account/{s.id}/{account_id}"

    def default_fields(self, account_id):
        seed = zlib.crc32(account_id.encode())
        name = f"account-{account_id[-4:]}"
        return {
            "Id": account_id,
            "Email": f"{name}@example.com",
            "Name": name,
            "State": "ACTIVE",
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": round(self.clocks.wall() - (30 + seed % 1500) * _DAY, 3),
        }

    def put(self, spec):
        """Add an account (a spec, or just its Id), or replace the one with its Id, which
        keeps its place in the listing; returns the Id."""
        if isinstance(spec, str):
            spec = {"Id": spec}
        fields, _ = split_spec(spec, kind="account", knobs={})
        account_id = fields.get("Id")
        if not isinstance(account_id, str):
            raise ValueError("an account needs an Id (a string)")
        old = self.accounts.get(account_id)
        account = Account(self.default_fields(account_id),
                          old.seq if old else next(self._seq))
        account.change(fields)
        self.accounts[account_id] = account
        return account_id

    def generate(self, count, prefix="account-", first=1, state="ACTIVE"):
        """`count` accounts named prefix01, prefix02, ... with the Ids 2000000000NN (the
        number after the prefix, from `first`); returns the Ids."""
        ids = []
        for number, name in zip(range(first, first + count), numbered(prefix, count, first)):
            account_id = f"{200000000000 + number:012d}"
            if len(account_id) != 12:
                raise ValueError("generated account numbers must stay below 800000000000")
            ids.append(self.put({"Id": account_id, "Name": name,
                                 "Email": f"{name}@example.com", "State": state}))
        return ids

    def _get(self, account_id):
        account = self.accounts.get(account_id)
        if account is None:
            raise KeyError(account_id)
        return account

    def update(self, account_id, spec):
        """Change members as an external actor (or AWS) would: given ones replace, null
        leaves one out; a new State brings its Status along unless Status is given or was
        set."""
        account = self._get(account_id)
        fields, _ = split_spec(spec, kind="account", knobs={})
        if "Id" in fields and fields["Id"] != account_id:
            raise ValueError("an account's Id cannot change")
        account.change(fields)
        return self.render(account)

    def remove(self, account_id):
        """The account leaves the organization."""
        self._get(account_id)
        del self.accounts[account_id]

    def render(self, account):
        """The account as ListAccounts answers it, members in the model's order."""
        fields = dict(account.fields)
        if "Arn" not in fields:
            fields["Arn"] = self.arn(account.id)
        if "Status" not in fields and isinstance(fields.get("State"), str):
            fields["Status"] = STATUS_OF_STATE.get(fields["State"], "ACTIVE")
        omitted = set(account.omitted)
        if self.settings.omit_state:
            omitted.add("State")
        if self.settings.omit_status:
            omitted.add("Status")
        ordered = [k for k in _MEMBER_ORDER if k in fields] + \
            [k for k in fields if k not in _MEMBER_ORDER]
        return {k: copy.deepcopy(fields[k]) for k in ordered if k not in omitted}

    def snapshot(self):
        """Every account as ListAccounts shows it, in listing order."""
        return [self.render(a) for a in self._ordered()]

    def _ordered(self):
        return sorted(self.accounts.values(), key=lambda a: a.seq)

    # ---- requests ----------------------------------------------------------------------

    def check_caller(self, account_id):
        """Raise the error a caller of `account_id` meets, if any."""
        if not self.settings.enabled or account_id not in self.accounts:
            raise OrganizationsError("AWSOrganizationsNotInUseException")
        if account_id != self.settings.management_account \
                and account_id not in self.settings.delegated_administrators:
            raise OrganizationsError("AccessDeniedException")

    def list_accounts(self, params, empty=False):
        """ListAccounts; `empty`: the empty_page fault's answer."""
        after = 0
        if params.get("NextToken") is not None:
            after = self._open_token(params["NextToken"])
        if empty:
            return {"Accounts": [], "NextToken": self._make_token(after, fresh=True)}
        limit = params.get("MaxResults") or self.settings.page_size
        rest = [a for a in self._ordered() if a.seq > after]
        page = rest[:limit]
        result = {"Accounts": [self.render(a) for a in page]}
        if len(rest) > limit:
            result["NextToken"] = self._make_token(page[-1].seq)
        return result

    def _make_token(self, after, fresh=False):
        data = {"a": after}
        if fresh:
            data["n"] = os.urandom(8).hex()
        payload = json.dumps(data, separators=(",", ":")).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def _open_token(self, token):
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, TypeError):
            raise invalid_input("INVALID_NEXT_TOKEN") from None
        payload, mac = raw[:-_MAC], raw[-_MAC:]
        good = hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC]
        if len(raw) <= _MAC or not hmac.compare_digest(mac, good):
            raise invalid_input("INVALID_NEXT_TOKEN")
        return json.loads(payload)["a"]


def validate(operation, params):
    """Raise the error Organizations answers for a ListAccounts request that does not
    deserialise (``SerializationException``) or breaks the model's constraints
    (``InvalidInputException``: Organizations reports constraint violations with its own
    error and a ``Reason``, not with the framework's ValidationException)."""
    if not isinstance(params, dict):
        raise ApiError("SerializationException",
                       "Start of the request body found where a structure was expected.")
    token, limit = params.get("NextToken"), params.get("MaxResults")
    if token is not None and not isinstance(token, str):
        raise ApiError("SerializationException",
                       "Unexpected value at 'NextToken': expected a string.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise ApiError("SerializationException",
                       "Unexpected value at 'MaxResults': expected an integer.")
    if limit is not None and limit < 1:
        raise invalid_input("MIN_VALUE_EXCEEDED")
    if limit is not None and limit > MAX_RESULTS:
        raise invalid_input("MAX_VALUE_EXCEEDED")
    if token is not None and len(token) > MAX_TOKEN:
        raise invalid_input("MAX_LENGTH_EXCEEDED")
