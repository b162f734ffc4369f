"""Everything one fake knows, behind one lock: settings, clock, principals, roles, tokens,
issued credentials, faults and the call log. ``reset()`` returns to the start-up state.

What can be configured (through the control API; see control_api.py for the wire form):

users (long-term callers)
    ``access_key_id``, ``secret_access_key``, optional ``session_token``, ``arn``
    (default ``arn:aws:iam::<account_id>:user/<name>``), ``name``.
roles
    ``arn`` (any partition), ``trust`` (list: ``*``, access key ids, principal ARNs, role
    ARNs whose credentials may call, ``arn:...:root`` for a whole account; default: the
    fake's users), ``external_id`` (required when set), ``max_session_duration`` (3600),
    ``mfa`` (``{"serial_number", "token_code"}``: the only MFA the role accepts; absent:
    it refuses any), ``revoked`` (true: AccessDenied for everyone).
web identity tokens
    ``token`` (default: a JWT-shaped token made from the claims), ``roles`` (ARNs it may
    assume, or ``["*"]``), ``subject``, ``audience``, ``issuer`` (its ``sub``, ``aud``,
    ``iss``), ``provider`` (default: the OIDC provider ARN of the issuer in the first
    role's account), ``expires_in`` or ``expiration``, ``idp_error`` (answer
    IDPCommunicationError).
SSO access tokens (the portal's)
    ``access_token`` (default: made), ``grants`` (``[[account, role_name], ...]``),
    ``user`` (the session name of the credentials), ``expires_in`` or ``expiration``
    (default 8 hours), ``partition``.
OIDC clients
    ``client_id``, ``client_secret`` (default: made), ``expires_in`` or ``expiration``
    of the registration (default 90 days), ``grant_types`` (default
    ``["refresh_token"]``).
refresh tokens
    ``refresh_token`` (default: made), ``client_id``, ``grants``, ``user``,
    ``expires_in`` or ``expiration`` (default: none). CreateToken turns one into an
    access token with the same grants.

Expiry times accept ``expires_in`` (seconds from the fake's now, may be negative) or
``expiration`` (epoch seconds or ISO 8601).

Every issued credential is kept (``GET /_fake/issued``): ``access_key_id``,
``secret_access_key``, ``session_token``, ``expiration`` (epoch seconds),
``expiration_iso``, ``issued_at``, ``operation``, ``role_arn``, ``arn``, ``user_id``,
``account``, ``session_name``, ``source_identity``. Each is accepted by the fake's STS
until it expires, and pushed to the linked fake AppStream (``appstream_control``) with
its ``account`` (the role's: the fake AppStream serves that account's estates to it) and
``arn`` (the assumed-role ARN its AccessDenied messages name).
"""

import copy
import http.client
import itertools
import json
import random
import ssl
import threading
import time
import urllib.parse

from fake_appstream.control import FakeError
from fake_appstream.sigv4 import QUERY_CODES, CredentialTable, Verifier, expiry

from . import identity
from .clock import WallClock
from .config import Config
from .faults import FaultTable

ISO = "%Y-%m-%dT%H:%M:%SZ"
SSO_TOKEN_LIFETIME = 8 * 3600
CLIENT_LIFETIME = 90 * 86400
DEFAULT_ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def appstream_entry(issued):
    """What the linked fake AppStream accepts of an issued credential: the keys, the
    expiry, the account they belong to (its estates are chosen by it) and the identity
    AccessDenied messages name."""
    entry = {k: issued[k] for k in ("access_key_id", "secret_access_key", "session_token",
                                    "expiration", "account")}
    entry["arn"] = issued["arn"]
    return entry


def iso(epoch):
    return time.strftime(ISO, time.gmtime(epoch))


def _only(spec, allowed, what):
    if not isinstance(spec, dict):
        raise ValueError(f"a {what} must be an object")
    unknown = set(spec) - set(allowed)
    if unknown:
        raise ValueError(f"unknown keys for a {what}: {sorted(unknown)}")


def _text(spec, key, default=None, what="value"):
    value = spec.get(key, default)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} needs {key} as a non-empty string")
    return value


def _grants(value):
    grants = []
    for grant in value or []:
        if isinstance(grant, dict):
            grant = (grant.get("account_id"), grant.get("role_name"))
        if (not isinstance(grant, (list, tuple)) or len(grant) != 2
                or not all(isinstance(g, str) and g for g in grant)):
            raise ValueError("grants must be [account_id, role_name] pairs")
        grants.append([grant[0], grant[1]])
    return grants


class FakeState:
    def __init__(self, settings=None, users=()):
        """settings: Config overrides; users: long-term user specs present at start-up."""
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self._initial = (dict(settings or {}), [dict(u) for u in users])
        self.clocks = WallClock()
        self.reset()

    def reset(self):
        settings, users = copy.deepcopy(self._initial)
        with self.lock:
            self.config = Config(**settings)
            self.clocks.restart(self.config.manual_clock, self.config.clock_offset)
            self.rng = random.Random(self.config.seed)
            self.credentials = CredentialTable([], self.clocks.wall())
            self.principals = {}
            self.roles = {}
            self.web_tokens = {}
            self.sso_tokens = {}
            self.oidc_clients = {}
            self.refresh_tokens = {}
            self.issued = []
            self.faults = FaultTable()
            self.calls = []
            self._call_seq = itertools.count(1)
            for user in users:
                self.add_user(user)

    def wall(self):
        return self.clocks.wall()

    def apply_config(self, changes):
        with self.lock:
            self.config.update(changes)
            if "clock_offset" in changes:
                self.clocks.set_offset(self.config.clock_offset)
            if self.config.manual_clock != self.clocks.manual:
                self.clocks.set_manual(self.config.manual_clock)
            if "seed" in changes:
                self.rng = random.Random(self.config.seed)
            return self.config.as_dict()

    # ---- who and what --------------------------------------------------------------

    def add_user(self, spec):
        _only(spec, {"access_key_id", "secret_access_key", "session_token", "arn", "name",
                     "expiration", "expires_in"}, "user")
        with self.lock:
            name = spec.get("name", "reconciler")
            arn = spec.get("arn") or f"arn:aws:iam::{self.config.account_id}:user/{name}"
            _, account = identity.principal_account(arn)
            if account is None:
                raise ValueError(f"{arn!r} is not an IAM principal ARN")
            entry = self.credentials.add({k: spec.get(k) for k in (
                "access_key_id", "secret_access_key", "session_token", "expiration",
                "expires_in")}, self.wall())
            self.principals[entry["access_key_id"]] = {
                "arn": arn, "user_id": identity.user_id(arn), "account": account,
                "role_arn": None, "access_key_id": entry["access_key_id"]}
            return {**entry, "arn": arn}

    def users(self):
        with self.lock:
            return [{**self.credentials.entries[k], "arn": p["arn"]}
                    for k, p in self.principals.items() if p["role_arn"] is None]

    def put_role(self, spec):
        _only(spec, {"arn", "trust", "external_id", "max_session_duration", "mfa",
                     "revoked"}, "role")
        arn = _text(spec, "arn", what="a role")
        parsed = identity.parse_role_arn(arn)
        if parsed is None:
            raise ValueError(f"{arn!r} is not a role ARN")
        partition, account, path, name = parsed
        with self.lock:
            trust = spec.get("trust")
            if trust is None:
                trust = [u["access_key_id"] for u in self.users()]
            if not isinstance(trust, list) or not all(isinstance(t, str) for t in trust):
                raise ValueError("trust must be a list of strings")
            maximum = spec.get("max_session_duration", 3600)
            if isinstance(maximum, bool) or not isinstance(maximum, int) \
                    or not 3600 <= maximum <= 43200:
                raise ValueError("max_session_duration must be 3600..43200, as IAM allows")
            mfa = spec.get("mfa")
            if mfa is not None and (not isinstance(mfa, dict)
                                    or set(mfa) != {"serial_number", "token_code"}):
                raise ValueError("mfa must be {serial_number, token_code}")
            external_id = spec.get("external_id")
            if external_id is not None and not isinstance(external_id, str):
                raise ValueError("external_id must be a string")
            role = {"arn": arn, "partition": partition, "account": account, "path": path,
                    "name": name, "role_id": identity.role_id(arn), "trust": list(trust),
                    "external_id": external_id, "max_session_duration": maximum,
                    "mfa": mfa, "revoked": bool(spec.get("revoked", False))}
            self.roles[arn] = role
            return copy.deepcopy(role)

    def update_role(self, arn, changes):
        with self.lock:
            role = self.roles.get(arn)
            if role is None:
                raise KeyError(f"no role {arn}")
            spec = {k: role[k] for k in ("arn", "trust", "external_id",
                                         "max_session_duration", "mfa", "revoked")}
            spec.update(changes)
            return self.put_role(spec)

    def add_web_identity_token(self, spec):
        _only(spec, {"token", "roles", "subject", "audience", "issuer", "provider",
                     "expires_in", "expiration", "idp_error"}, "web identity token")
        with self.lock:
            now = self.wall()
            roles = spec.get("roles", ["*"])
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise ValueError("roles must be a list of role ARNs")
            issuer = spec.get("issuer", DEFAULT_ISSUER)
            subject = spec.get("subject", "system:serviceaccount:reconciler:reconciler")
            audience = spec.get("audience", "sts.amazonaws.com")
            expires = expiry(spec, now, 3600)
            token = spec.get("token") or identity.make_jwt(
                {"iss": issuer, "sub": subject, "aud": audience, "iat": int(now),
                 "exp": int(expires), "jti": identity.opaque_token(self.rng, "", 16)})
            account = next((self.roles[r]["account"] for r in roles if r in self.roles),
                           self.config.account_id)
            provider = spec.get("provider") or \
                f"arn:aws:iam::{account}:oidc-provider/{issuer.split('://', 1)[-1]}"
            record = {"token": token, "roles": roles, "subject": subject,
                      "audience": audience, "issuer": issuer, "provider": provider,
                      "expiration": expires, "idp_error": bool(spec.get("idp_error"))}
            self.web_tokens[token] = record
            return dict(record)

    def add_sso_token(self, spec):
        _only(spec, {"access_token", "grants", "user", "expires_in", "expiration",
                     "partition"}, "SSO access token")
        with self.lock:
            token = spec.get("access_token") or identity.opaque_token(self.rng, "aoa")
            record = {"access_token": token, "grants": _grants(spec.get("grants")),
                      "user": spec.get("user", "reconciler@example.com"),
                      "expiration": expiry(spec, self.wall(), SSO_TOKEN_LIFETIME),
                      "partition": spec.get("partition", "aws")}
            self.sso_tokens[token] = record
            return copy.deepcopy(record)

    def add_oidc_client(self, spec):
        _only(spec, {"client_id", "client_secret", "expires_in", "expiration",
                     "grant_types"}, "OIDC client")
        with self.lock:
            client_id = spec.get("client_id") or identity.opaque_token(self.rng, "", 22)
            record = {"client_id": client_id,
                      "client_secret": spec.get("client_secret")
                      or identity.opaque_token(self.rng, "eyJraWQiOiJrZXktMSIsImFsZyI6", 200),
                      "expiration": expiry(spec, self.wall(), CLIENT_LIFETIME),
                      "grant_types": list(spec.get("grant_types", ["refresh_token"]))}
            self.oidc_clients[client_id] = record
            return dict(record)

    def add_refresh_token(self, spec):
        _only(spec, {"refresh_token", "client_id", "grants", "user", "expires_in",
                     "expiration"}, "refresh token")
        with self.lock:
            client_id = _text(spec, "client_id", what="a refresh token")
            record = {"refresh_token": spec.get("refresh_token")
                      or identity.opaque_token(self.rng, "aor"),
                      "client_id": client_id, "grants": _grants(spec.get("grants")),
                      "user": spec.get("user", "reconciler@example.com"),
                      "expiration": expiry(spec, self.wall()), "used": False}
            self.refresh_tokens[record["refresh_token"]] = record
            return copy.deepcopy(record)

    # ---- requests --------------------------------------------------------------------

    def served_region(self, scope_region):
        """The region a request whose Host names none is served in: the one its
        credential scope names if it is among the ``regions`` setting, else ``region``."""
        with self.lock:
            if scope_region in self.config.regions:
                return scope_region
            return self.config.region

    def verifier(self, region):
        with self.lock:
            return Verifier(self.credentials, region, self.wall(), self.config.max_skew,
                            403, signing_name="sts", codes=QUERY_CODES)

    def lifetime(self, asked):
        override = self.config.issue_duration
        return asked if override is None else override

    def issue(self, operation, account, partition, role_arn, role_id, role_name,
              session_name, seconds, source_identity=None):
        """Make temporary credentials for an assumed role, accept them from now on and
        return their record."""
        with self.lock:
            now = self.wall()
            expires = float(int(now + seconds))
            arn = identity.assumed_role_arn(partition, account, role_name, session_name)
            entry = self.credentials.add({
                "access_key_id": identity.access_key_id(self.rng, True),
                "secret_access_key": identity.secret_access_key(self.rng),
                "session_token": identity.session_token(self.rng),
                "expiration": expires}, now)
            record = {**entry, "expiration_iso": iso(expires), "issued_at": now,
                      "operation": operation, "role_arn": role_arn, "arn": arn,
                      "user_id": f"{role_id}:{session_name}", "account": account,
                      "session_name": session_name, "source_identity": source_identity}
            self.principals[entry["access_key_id"]] = {
                "arn": arn, "user_id": record["user_id"], "account": account,
                "role_arn": role_arn, "access_key_id": entry["access_key_id"]}
            self.issued.append(record)
            return dict(record)

    def publish(self, issued):
        """Make the linked fake AppStream accept issued credentials until they expire,
        before the caller gets them."""
        url, ca_file = self.config.appstream_control, self.config.appstream_ca
        if not url:
            return
        try:
            self._publisher.add(url, ca_file, appstream_entry(issued))
        except (FakeError, OSError, ValueError) as exc:
            raise RuntimeError(f"the fake AppStream at {url} did not take the issued "
                               f"credentials: {exc}") from exc

    @property
    def _publisher(self):
        with self.lock:
            if not hasattr(self, "_publisher_"):
                self._publisher_ = Publisher()
            return self._publisher_

    def pick_fault(self, operation):
        with self.lock:
            return self.faults.pick(operation, self.rng)

    def log_call(self, entry):
        with self.lock:
            entry = {k: v for k, v in entry.items() if not k.startswith("_")}
            entry["seq"] = next(self._call_seq)
            self.calls.append(entry)

    def calls_since(self, since=0, operation=None):
        with self.lock:
            return [copy.deepcopy(c) for c in self.calls
                    if c["seq"] > since and (operation is None or c["operation"] == operation)]


class Publisher:
    """The issued credentials' way to the linked fake AppStream: one kept-alive connection a
    thread (the server's threads each serve one client connection), with one TLS context, and
    the table's count for an answer instead of the whole table. Hundreds of identities set up
    at once (an organization's targets) then cost the fakes a request each, not a TLS
    handshake and a table each."""

    def __init__(self):
        self._local = threading.local()
        self._contexts = {}
        self._lock = threading.Lock()

    def _context(self, ca_file):
        with self._lock:
            if ca_file not in self._contexts:
                self._contexts[ca_file] = ssl.create_default_context(
                    cafile=str(ca_file) if ca_file else None)
            return self._contexts[ca_file]

    def _connection(self, url, ca_file):
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.target == (url, ca_file):
            return conn
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10,
                                               context=self._context(ca_file))
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self._local.conn, self._local.target = conn, (url, ca_file)
        self._local.prefix = parts.path.rstrip("/")
        return conn

    def add(self, url, ca_file, entry):
        body = json.dumps({"add": [entry], "quiet": True}).encode()
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            conn = self._connection(url, ca_file)
            try:
                conn.request("POST", self._local.prefix + "/_fake/credentials", body,
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                answer = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
                continue
            if resp.status != 200:
                raise FakeError(resp.status, answer.decode(errors="replace"))
            return json.loads(answer)["count"]

