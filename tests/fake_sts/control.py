"""Drive a fake STS from Python tests.

``FakeSTS.start(workdir, appstream=fake)`` runs ``/usr/bin/python3 -m fake_sts`` on a free
port (HTTPS by default), waits for its ``LISTENING`` line and returns a handle; ``stop()``
sends SIGTERM. The handle is also a client of the control API::

    sts = FakeSTS.start(tmp_path, appstream=fake, tls_dir=fake.tls_dir)
    role = sts.add_role("arn:aws:iam::123456789012:role/reconciler", external_id="x-1")
    sts.restrict_appstream()          # fake AppStream now accepts only what sts issues
    ...                               # a client assumes the role, then calls AppStream
    assert sts.calls("AssumeRole")[0]["params"]["ExternalId"] == "x-1"
    sts.stop()

:func:`write_sso_cache` writes the token cache file as botocore (and ``aws sso login``)
write it. Every control method raises :class:`FakeError` when the fake refuses the
request.
"""

import datetime
import hashlib
import itertools
import json
import os
import pathlib
import subprocess

from fake_appstream.control import (PYTHON, TESTS_DIR, ControlClient as _BaseClient,
                                    Credentials, FakeError, FakeProcess, _await_listening,
                                    _terminate, sign_request)

from . import identity
from .state import appstream_entry

__all__ = ["FakeSTS", "ControlClient", "Credentials", "FakeError", "write_sso_cache",
           "sso_cache_path", "make_jwt", "sign_request", "NSENTER"]

NSENTER = "/usr/bin/nsenter"
_ISO = "%Y-%m-%dT%H:%M:%SZ"
_LOG_NUMBERS = itertools.count(1)


def make_jwt(claims):
    """A JWT-shaped web identity token (see fake_sts.identity.make_jwt)."""
    return identity.make_jwt(claims)


class ControlClient(_BaseClient):
    """Client of the control API of a fake STS listening at `url`."""

    # ---- settings ------------------------------------------------------------------

    def config(self, **changes):
        """Change settings (see fake_sts.config); returns all settings."""
        if changes:
            return self.request("POST", "/_fake/config", changes)
        return self.request("GET", "/_fake/config")

    def shorten_lifetimes(self, seconds):
        """Every credential issued from now on lives `seconds` (None: as asked)."""
        return self.config(issue_duration=seconds)

    def disable_region(self, region, disabled=True):
        """STS actions served in `region` answer RegionDisabledException (or no longer)."""
        regions = set(self.config()["disabled_regions"])
        regions = regions | {region} if disabled else regions - {region}
        return self.config(disabled_regions=sorted(regions))

    # ---- principals, roles, tokens -------------------------------------------------

    def add_user(self, access_key_id, secret_access_key, **spec):
        """A long-term caller (spec: arn, name, session_token, expires_in, expiration)."""
        return self.request("POST", "/_fake/users", {
            "access_key_id": access_key_id, "secret_access_key": secret_access_key,
            **spec})

    def users(self):
        return self.request("GET", "/_fake/users")["users"]

    def add_role(self, arn, trust=None, external_id=None, max_session_duration=3600,
                 mfa=None, revoked=False):
        """Add (or replace) a role. `trust` defaults to every long-term user."""
        spec = {"arn": arn, "external_id": external_id,
                "max_session_duration": max_session_duration, "mfa": mfa,
                "revoked": revoked}
        if trust is not None:
            spec["trust"] = list(trust)
        return self.request("POST", "/_fake/roles", spec)

    def update_role(self, arn, **changes):
        return self.request("PATCH", "/_fake/roles", {"arn": arn, **changes})

    def revoke_trust(self, arn):
        """From now on every AssumeRole* of this role is AccessDenied."""
        return self.update_role(arn, revoked=True)

    def restore_trust(self, arn):
        return self.update_role(arn, revoked=False)

    def roles(self):
        return self.request("GET", "/_fake/roles")["roles"]

    def add_web_identity_token(self, roles=("*",), **spec):
        """A token AssumeRoleWithWebIdentity accepts for `roles` (spec: token, subject,
        audience, issuer, provider, expires_in, expiration, idp_error). Returns its record;
        ``["token"]`` is what goes in the token file."""
        return self.request("POST", "/_fake/web_identity_tokens",
                            {"roles": list(roles), **spec})

    def add_sso_token(self, grants, **spec):
        """A portal access token allowed `grants` ([(account_id, role_name), ...]); spec:
        access_token, user, expires_in, expiration, partition."""
        return self.request("POST", "/_fake/sso_tokens",
                            {"grants": [list(g) for g in grants], **spec})

    def add_oidc_client(self, **spec):
        """An OIDC client registration (spec: client_id, client_secret, expires_in,
        expiration, grant_types)."""
        return self.request("POST", "/_fake/oidc_clients", spec)

    def add_refresh_token(self, client_id, grants, **spec):
        """A refresh token of `client_id` that CreateToken turns into portal access tokens
        allowed `grants` (spec: refresh_token, user, expires_in, expiration)."""
        return self.request("POST", "/_fake/refresh_tokens",
                            {"client_id": client_id, "grants": [list(g) for g in grants],
                             **spec})

    def sso_tokens(self):
        return self.request("GET", "/_fake/sso_tokens")["tokens"]

    def refresh_tokens(self):
        return self.request("GET", "/_fake/refresh_tokens")["tokens"]

    # ---- what happened ---------------------------------------------------------------

    def issued(self, operation=None):
        """Every credential issued (see fake_sts.state), oldest first."""
        issued = self.request("GET", "/_fake/issued")["issued"]
        return [i for i in issued if operation is None or i["operation"] == operation]

    def clock(self):
        return self.request("GET", "/_fake/clock")

    def advance(self, seconds):
        """Move the fake's wall clock forward."""
        return self.request("POST", "/_fake/clock", {"advance": seconds})

    def set_manual_clock(self, manual=True):
        return self.request("POST", "/_fake/clock", {"manual": manual})

    def reset(self):
        """Back to the start-up settings and users; nothing else is kept."""
        self.request("POST", "/_fake/reset")


class FakeSTS(FakeProcess, ControlClient):
    """A fake STS running as a child process, plus what a client needs to reach it.

    Attributes: ``url``, ``ca_file``, ``tls_dir``, ``region``, ``credentials`` (the
    default user's :class:`Credentials`), ``appstream`` (the linked FakeAppStream, or
    None), ``isolated`` (served under the real host names in a namespace of its own),
    ``process``, ``log_file``.
    """

    def __init__(self, process, url, ca_file, tls_dir, log_file, appstream, isolated):
        super().__init__(url, ca_file)
        self.process = process
        self.tls_dir = tls_dir
        self.log_file = log_file
        self.appstream = appstream
        self.isolated = isolated
        self.region = self.config()["region"]
        first = self.users()[0]
        self.credentials = Credentials(first["access_key_id"], first["secret_access_key"],
                                       first["session_token"])

    @classmethod
    def start(cls, workdir, tls=True, args=(), host="127.0.0.1", tls_dir=None,
              appstream=None, isolate=False, timeout=30.0):
        """Start a fake with extra command-line `args`. TLS material goes to `tls_dir`
        (default: `appstream`'s, else workdir/tls), so one CA can serve both fakes.
        `appstream` (a FakeAppStream) is linked: it accepts every credential issued.
        `isolate` also serves the real AWS host names in a namespace (see __main__)."""
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        command = [PYTHON, "-m", "fake_sts", "--host", host, "--port", "0", *args]
        ca_file = None
        if tls:
            tls_dir = pathlib.Path(tls_dir or (appstream and appstream.tls_dir)
                                   or workdir / "tls")
            command += ["--tls-dir", str(tls_dir)]
            ca_file = tls_dir / "ca.pem"
        if appstream is not None:
            command += ["--appstream-control", appstream.url]
            if appstream.ca_file:
                command += ["--appstream-ca", str(appstream.ca_file)]
        if isolate:
            command.append("--isolate")
        log_file = workdir / f"fake-sts-{os.getpid()}-{next(_LOG_NUMBERS)}.log"
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
        with open(log_file, "wb") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                       stdin=subprocess.DEVNULL, env=env, cwd=workdir)
        try:
            url = _await_listening(process, timeout, log_file)
            return cls(process, url, ca_file, tls_dir if tls else None, log_file,
                       appstream, isolate)
        except Exception:
            _terminate(process)
            raise

    def reset(self):
        super().reset()
        self.region = self.config()["region"]

    # ---- the linked fake AppStream ---------------------------------------------------

    def restrict_appstream(self):
        """Make the linked fake AppStream accept only credentials this fake issued: those
        issued so far that have not expired, and every one issued later."""
        if self.appstream is None:
            raise FakeError(400, "this fake STS is not linked to a fake AppStream")
        now = self.clock()["wall"]
        live = [appstream_entry(i) for i in self.issued() if i["expiration"] > now]
        return self.appstream.set_credentials(*live)

    # ---- clients -------------------------------------------------------------------

    def env(self, **overrides):
        """The AWS_* variables of a client that uses this fake for STS (SDKs that know
        AWS_ENDPOINT_URL_STS) with the default user's keys. None removes a variable."""
        env = {
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.ca_file:
            env["AWS_CA_BUNDLE"] = str(self.ca_file)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def botocore_client(self, service="sts", credentials=None, unsigned=False, region=None,
                        **config):
        """A botocore client of `service` (sts, sso, sso-oidc) aimed at this fake: no
        retries, short timeouts, nothing read from this machine's AWS configuration."""
        import botocore
        import botocore.config
        import botocore.session

        session = botocore.session.Session()
        session.set_config_variable("config_file", os.devnull)
        session.set_config_variable("credentials_file", os.devnull)
        options = {"retries": {"total_max_attempts": 1, "mode": "standard"},
                   "connect_timeout": 5, "read_timeout": 15}
        if unsigned or service != "sts":
            options["signature_version"] = botocore.UNSIGNED
        options.update(config)
        creds = credentials or self.credentials
        return session.create_client(
            service, region_name=region or self.region, endpoint_url=self.url,
            verify=str(self.ca_file) if self.ca_file else False,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=botocore.config.Config(**options))

    def inside(self, command):
        """`command` wrapped to run in the fake's namespaces (an isolated fake only),
        where the real AWS host names reach the fake."""
        if not self.isolated:
            raise ValueError("this fake was not started with isolate=True")
        return [NSENTER, "--target", str(self.process.pid), "--net", "--mount", "--",
                *command]

    def run_inside(self, command, env, timeout=45, **kwargs):
        """Run `command` in the fake's namespaces with exactly `env`; CompletedProcess."""
        return subprocess.run(self.inside(command), env=env, capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL,
                              **kwargs)


# ---- the SSO token cache ------------------------------------------------------------------


def sso_cache_path(home, start_url, session_name=None):
    """Where botocore looks for the token: ~/.aws/sso/cache/<sha1>.json, the SHA-1 of the
    sso-session's name, or of the start URL in the legacy (sso_start_url) form."""
    key = session_name if session_name is not None else start_url
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()
    return pathlib.Path(home) / ".aws" / "sso" / "cache" / f"{digest}.json"


def _stamp(value):
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime(_ISO)


def write_sso_cache(home, start_url, region, access_token, expires_at, session_name=None,
                    client=None, refresh_token=None):
    """Write the cached token as botocore's SSOTokenProvider and ``aws sso login`` write it
    (JSONFileCache: mode 0600, ``json.dumps``, times as ``%Y-%m-%dT%H:%M:%SZ`` in UTC).
    `expires_at` is epoch seconds or an aware datetime. With `client` (a record of
    add_oidc_client) and `refresh_token`, the token is refreshable: clientId,
    clientSecret, registrationExpiresAt and refreshToken are added. Returns the path."""
    token = {"startUrl": start_url, "region": region, "accessToken": access_token,
             "expiresAt": _stamp(expires_at)}
    if client is not None:
        token["clientId"] = client["client_id"]
        token["clientSecret"] = client["client_secret"]
        token["registrationExpiresAt"] = _stamp(client["expiration"])
    if refresh_token is not None:
        token["refreshToken"] = refresh_token
    path = sso_cache_path(home, start_url, session_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(json.dumps(token))
    return path

