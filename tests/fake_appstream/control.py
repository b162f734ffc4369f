"""Drive a fake AppStream server from Python tests.

``FakeAppStream.start(workdir)`` runs ``/usr/bin/python3 -m fake_appstream`` on a free
port (HTTPS by default), waits for its ``LISTENING`` line and returns a handle; ``stop()``
sends SIGTERM. The handle is also a client of the control API::

    fake = FakeAppStream.start(tmp_path)
    fake.generate(3, prefix="prod-", version="06-19-2023")
    fake.config(manual_clock=True)
    env = fake.subprocess_env(tmp_path / "home")   # what a client process needs
    ...                                            # run the client
    fake.advance(1.0)                              # simulation time moves
    assert fake.builder("prod-01")["State"] == "STOPPED"
    assert [c["operation"] for c in fake.calls()] == [...]
    fake.stop()

Other accounts and regions are estates of their own (see fake_appstream.estates), with the
same control methods::

    west = fake.estate(account="222233334444", region="us-west-2")
    west.generate(2, prefix="west-")
    west.add_fault("throttle", count=3)            # only this estate is throttled
    client = west.botocore_client(role_creds)      # credentials of account 222233334444
    assert {c["account"] for c in west.calls()} == {"222233334444"}

Every control method raises :class:`FakeError` when the fake refuses the request.
"""

import dataclasses
import http.client
import itertools
import json
import os
import pathlib
import select
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

PYTHON = "/usr/bin/python3"
TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
_LOG_NUMBERS = itertools.count(1)


class FakeError(Exception):
    """The control API refused a request (status and message from the fake)."""

    def __init__(self, status, message):
        super().__init__(f"fake control API answered {status}: {message}")
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str = None

    def as_entry(self, **extra):
        entry = {"access_key_id": self.access_key_id,
                 "secret_access_key": self.secret_access_key}
        if self.session_token:
            entry["session_token"] = self.session_token
        entry.update(extra)
        return entry


class _Transport:
    """Requests to the control API of a fake listening at `url`."""

    def __init__(self, url, ca_file=None, timeout=15.0):
        self.url = url.rstrip("/")
        self.ca_file = str(ca_file) if ca_file else None
        self.timeout = timeout
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        # The fake is on loopback: proxy settings of the environment must not apply.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                   urllib.request.HTTPSHandler(context=context))

    def request(self, method, path, body=None):
        """One control request; returns the decoded JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            try:
                message = json.loads(err.read()).get("error", "")
            except ValueError:
                message = err.reason
            raise FakeError(err.code, message) from None


class EstateControl(_Transport):
    """The control methods of one estate (see fake_appstream.estates): its builders,
    images, AppStream fleets, tags, denies, faults and calls. The fake's own handle
    (ControlClient) acts on the default estate; ``fake.estate(account, region)`` answers
    an :class:`Estate` with the same methods for another."""

    # The control API path of the estate's endpoints.
    _scope = "/_fake"

    # ---- the fleet -----------------------------------------------------------------

    def builders(self):
        """Every builder as DescribeImageBuilders shows it, each with a ``_fake`` entry
        holding its knobs and scheduled transitions."""
        return self.request("GET", self._scope + "/builders")["builders"]

    def builder(self, name):
        return self.request("GET", self._path("builders", name))

    def add_builders(self, *specs, replace=False):
        """Add builders (dicts with Name, any API members, knobs); a spec may be just a
        name. Same-named builders are replaced; replace=True drops all others."""
        specs = [{"Name": s} if isinstance(s, str) else s for s in specs]
        return self.request("POST", self._scope + "/builders",
                            {"builders": specs, "replace": replace})["names"]

    def generate(self, count, prefix="builder-", version=None, state="RUNNING", first=1):
        """Add `count` realistic builders named prefix01, prefix02, ...; returns names."""
        spec = {"count": count, "prefix": prefix, "state": state, "first": first}
        if version is not None:
            spec["version"] = version
        return self.request("POST", self._scope + "/builders", {"generate": spec})["names"]

    def update_builder(self, name, **changes):
        """Change members or knobs as an external actor would; a State cancels the
        transition under way; a None member is removed. Returns the builder."""
        return self.request("POST", self._path("builders", name), changes)

    def set_state(self, name, state, **changes):
        return self.update_builder(name, State=state, **changes)

    def delete_builder(self, name):
        self.request("DELETE", self._path("builders", name))

    # ---- images and AppStream fleets -----------------------------------------------

    def _path(self, kind, name):
        return f"{self._scope}/{kind}/" + urllib.parse.quote(name, safe="")

    def images(self):
        """Every image DescribeImages shows (the defined ones and the public images builders
        and fleets use), each with a ``_fake`` entry: its knobs and ``implied``."""
        return self.request("GET", self._scope + "/images")["images"]

    def image(self, name):
        return self.request("GET", self._path("images", name))

    def add_images(self, *specs, replace=False):
        """Add images (dicts with Name, any API members, knobs; see fake_appstream.images);
        a spec may be just a name. Same-named images are replaced; replace=True drops all
        other defined images. Returns the names."""
        specs = [{"Name": s} if isinstance(s, str) else s for s in specs]
        return self.request("POST", self._scope + "/images",
                            {"images": specs, "replace": replace})["names"]

    def generate_images(self, count, prefix="image-", version=None, state="AVAILABLE",
                        first=1, visibility="PRIVATE"):
        """Add `count` realistic images named prefix01, prefix02, ... with the agent
        `version` (default the latest); returns the names."""
        spec = {"count": count, "prefix": prefix, "state": state, "first": first,
                "visibility": visibility}
        if version is not None:
            spec["version"] = version
        return self.request("POST", self._scope + "/images", {"generate": spec})["names"]

    def update_image(self, name, **changes):
        """Change members or knobs as an external actor would (a None member is removed);
        returns the image."""
        return self.request("POST", self._path("images", name), changes)

    def delete_image(self, name):
        """Delete an image; the fleets that run it keep its ARN."""
        self.request("DELETE", self._path("images", name))

    def fleets(self):
        """Every AppStream fleet as DescribeFleets shows it, each with a ``_fake`` entry
        holding its knobs."""
        return self.request("GET", self._scope + "/fleets")["fleets"]

    def fleet(self, name):
        return self.request("GET", self._path("fleets", name))

    def add_fleets(self, *specs, replace=False):
        """Add fleets (dicts with Name, any API members, knobs; see fake_appstream.fleets);
        a spec may be just a name. Same-named fleets are replaced; replace=True drops all
        others. Returns the names."""
        specs = [{"Name": s} if isinstance(s, str) else s for s in specs]
        return self.request("POST", self._scope + "/fleets",
                            {"fleets": specs, "replace": replace})["names"]

    def generate_fleets(self, count, prefix="fleet-", image=None, state="RUNNING", first=1,
                        fleet_type=None):
        """Add `count` realistic fleets named prefix01, prefix02, ... running `image` (a
        name or an image ARN; default AWS's public Windows Server 2019 image); returns
        the names."""
        spec = {"count": count, "prefix": prefix, "state": state, "first": first}
        if image is not None:
            spec["image"] = image
        if fleet_type is not None:
            spec["fleet_type"] = fleet_type
        return self.request("POST", self._scope + "/fleets", {"generate": spec})["names"]

    def update_fleet(self, name, **changes):
        """Change members or knobs as an external actor would (a None member is removed);
        returns the fleet."""
        return self.request("POST", self._path("fleets", name), changes)

    def delete_fleet(self, name):
        self.request("DELETE", self._path("fleets", name))

    # ---- tags and denies -----------------------------------------------------------

    def _tags_path(self, name):
        return self._path("builders", name) + "/tags"

    def tags(self, name):
        """A builder's tags, as ListTagsForResource answers them."""
        return self.request("GET", self._tags_path(name))["tags"]

    def tag(self, name, tags=None, **more):
        """Add or overwrite tags as an external actor would; keys that are no Python
        names (``appstream-agent-reconciler:hold``) go in the `tags` dict. Returns all
        the builder's tags."""
        return self.request("POST", self._tags_path(name),
                            {"tags": {**(tags or {}), **more}})["tags"]

    def untag(self, name, *keys):
        """Remove these tag keys (absent ones are no error); returns the tags left."""
        return self.request("POST", self._tags_path(name), {"remove": list(keys)})["tags"]

    def deny(self, operations, tag_key=None, tag_value=None, names=None, reason="explicit"):
        """Refuse calls as an IAM policy would (see fake_appstream.denies): `operations`
        on builders tagged `tag_key` (with `tag_value`, or any value when None) at the
        time of the call, and/or on the builders `names`; with neither, every call to
        them. reason: "explicit" or "no_allow" (the message's wording). Returns the deny
        with its id."""
        if isinstance(operations, str):
            operations = [operations]
        spec = {"operations": list(operations), "reason": reason}
        if tag_key is not None:
            spec["tag_key"] = tag_key
        if tag_value is not None:
            spec["tag_value"] = tag_value
        if names is not None:
            spec["names"] = [names] if isinstance(names, str) else list(names)
        return self.request("POST", self._scope + "/denies", spec)

    def denies(self):
        """The denies in force, each with how often it ``fired``."""
        return self.request("GET", self._scope + "/denies")["denies"]

    def clear_denies(self):
        self.request("DELETE", self._scope + "/denies")

    # ---- faults and calls ------------------------------------------------------------

    def add_fault(self, kind, **options):
        """Inject a fault (see fake_appstream.faults); returns it with its id."""
        return self.request("POST", self._scope + "/faults", {"kind": kind, **options})

    def faults(self):
        return self.request("GET", self._scope + "/faults")["faults"]

    def clear_faults(self):
        self.request("DELETE", self._scope + "/faults")

    def calls(self, operation=None, since=0, **filters):
        """The API call log (see fake_appstream.server for the fields); `filters`
        (account, region, service) keep the calls with those values."""
        query = {"since": since, **{k: v for k, v in filters.items() if v is not None}}
        if operation:
            query["operation"] = operation
        return self.request("GET", self._scope + "/calls?"
                            + urllib.parse.urlencode(query))["calls"]

    def clear_calls(self, **filters):
        """Forget the calls (those with the values `filters` give)."""
        query = {k: v for k, v in filters.items() if v is not None}
        self.request("DELETE", self._scope + "/calls"
                     + ("?" + urllib.parse.urlencode(query) if query else ""))

    def wait_for_state(self, name, states, timeout=10.0, interval=0.05):
        """Poll (in real time) until the builder is in one of `states`; return it.
        Raises TimeoutError with the last state seen."""
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.monotonic() + timeout
        while True:
            builder = self.builder(name)
            if builder.get("State") in states:
                return builder
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{name} is {builder.get('State')}, not {sorted(states)}, "
                                   f"after {timeout} s")
            time.sleep(interval)


class Estate(EstateControl):
    """The control methods of the estate of `account` in `region` (``fake.estate()``),
    and a botocore client for it. Its ``calls()`` are those the estate served."""

    def __init__(self, fake, account, region):
        super().__init__(fake.url, fake.ca_file, fake.timeout)
        self.fake = fake
        self.account = account
        self.region = region
        self._scope = (f"/_fake/estates/{urllib.parse.quote(account, safe='')}/"
                       f"{urllib.parse.quote(region, safe='')}")

    def summary(self):
        """``{"account", "region", "builders", "images", "fleets", "faults", "denies"}``."""
        return self.request("GET", self._scope)

    def arn(self, name, kind="image-builder"):
        """The ARN of the builder (or ``kind`` ``fleet``, ``image``) `name` here."""
        return f"arn:aws:appstream:{self.region}:{self.account}:{kind}/{name}"

    def botocore_client(self, credentials, **config):
        """A botocore AppStream client of this estate's region, signing with
        `credentials` (of its account: see FakeAppStream.botocore_client)."""
        return self.fake.botocore_client(credentials, region=self.region, **config)


class ControlClient(EstateControl):
    """Client of the control API of a fake listening at `url`: the default estate's
    methods (EstateControl), the fake's settings, credentials, clock, other estates and
    its organization (``.organization``, see fake_organizations.control)."""

    @property
    def organization(self):
        from fake_organizations.control import OrganizationControl

        return OrganizationControl(self)

    # ---- estates -------------------------------------------------------------------

    def estate(self, account=None, region=None):
        """The estate of `account` in `region` (default: the default estate's), made
        empty if the fake has none yet."""
        body = {k: v for k, v in (("account", account), ("region", region)) if v}
        made = self.request("POST", "/_fake/estates", body)
        return Estate(self, made["account"], made["region"])

    def estates(self):
        """Every estate (the default one first) with its counts."""
        return self.request("GET", "/_fake/estates")["estates"]

    def disable_region(self, region, account=None, disabled=True):
        """Requests of `account` (default: the default account) signed for `region` are
        UnrecognizedClientException (or no longer), as in an opt-in region it has not
        enabled."""
        settings = self.config()
        account = account or settings["account_id"]
        table = settings["disabled_regions"]
        regions = set(table.get(account, ()))
        regions = regions | {region} if disabled else regions - {region}
        table[account] = sorted(regions)
        return self.config(disabled_regions={k: v for k, v in table.items() if v})

    # ---- settings, credentials, clock ------------------------------------------------

    def config(self, **changes):
        """Change settings (see fake_appstream.config); returns all settings."""
        if changes:
            return self.request("POST", "/_fake/config", changes)
        return self.request("GET", "/_fake/config")

    def set_credentials(self, *entries):
        """Replace the accepted credentials with these entries (dicts with
        access_key_id, secret_access_key, optional session_token and expiration or
        expires_in, or Credentials objects)."""
        entries = [e.as_entry() if isinstance(e, Credentials) else e for e in entries]
        return self.request("POST", "/_fake/credentials",
                            {"credentials": entries})["credentials"]

    def add_credentials(self, *entries):
        """Accept these credentials as well as those already accepted (an entry replaces
        the one with its access key id); returns the whole table."""
        entries = [e.as_entry() if isinstance(e, Credentials) else e for e in entries]
        return self.request("POST", "/_fake/credentials", {"add": entries})["credentials"]

    def accepted_credentials(self):
        return self.request("GET", "/_fake/credentials")["credentials"]

    def clock(self):
        return self.request("GET", "/_fake/clock")

    def advance(self, seconds):
        """Move simulation time forward (transitions due by then happen)."""
        return self.request("POST", "/_fake/clock", {"advance": seconds})

    def set_manual_clock(self, manual=True):
        return self.request("POST", "/_fake/clock", {"manual": manual})

    def reset(self):
        """Back to the start-up state: settings, fleet, credentials, organization; no other
        estates, no faults, denies or calls."""
        self.request("POST", "/_fake/reset")


class FakeProcess:
    """A fake running as a child process (``self.process``): stopped at the end of a with
    block or by stop()."""

    def stop(self, timeout=10.0):
        """SIGTERM, wait, SIGKILL if it did not stop; returns the exit status."""
        return _terminate(self.process, timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class FakeAppStream(FakeProcess, ControlClient):
    """A fake server running as a child process, plus what a client needs to reach it.

    Attributes: ``url`` (base URL), ``ca_file`` (CA to trust, None for plain HTTP),
    ``tls_dir``, ``region``, ``account_id`` (the default estate's), ``credentials`` (the
    :class:`Credentials` that ``env()`` hands out: the first accepted entry, updated by
    ``set_credentials``; None when no credentials are accepted), ``process``,
    ``log_file`` (the server's stderr), ``organization`` (the fake AWS Organizations it
    also serves, see fake_organizations.control).
    """

    def __init__(self, process, url, ca_file, tls_dir, log_file):
        super().__init__(url, ca_file)
        self.process = process
        self.tls_dir = tls_dir
        self.log_file = log_file
        self._learn_settings()

    @classmethod
    def start(cls, workdir, tls=True, args=(), host="127.0.0.1", tls_dir=None, timeout=30.0):
        """Start a fake with extra command-line `args`; TLS material goes to `tls_dir`
        (default workdir/tls) and is reused when already there."""
        workdir = pathlib.Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        command = [PYTHON, "-m", "fake_appstream", "--host", host, "--port", "0", *args]
        ca_file = None
        if tls:
            tls_dir = pathlib.Path(tls_dir or workdir / "tls")
            command += ["--tls-dir", str(tls_dir)]
            ca_file = tls_dir / "ca.pem"
        log_file = workdir / f"fake-appstream-{os.getpid()}-{next(_LOG_NUMBERS)}.log"
        env = dict(os.environ, PYTHONPATH=str(TESTS_DIR))
        with open(log_file, "wb") as log:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log,
                                       stdin=subprocess.DEVNULL, env=env, cwd=workdir)
        try:
            url = _await_listening(process, timeout, log_file)
        except Exception:
            _terminate(process)
            raise
        return cls(process, url, ca_file, tls_dir if tls else None, log_file)

    def _learn_settings(self):
        self.config()  # learns region and account_id
        self._learn_credentials(self.accepted_credentials())

    def _learn_credentials(self, table):
        # With nothing accepted, env() hands out no keys at all.
        if not table:
            self.credentials = None
            return
        first = table[0]
        self.credentials = Credentials(first["access_key_id"], first["secret_access_key"],
                                       first["session_token"])

    def reset(self):
        super().reset()
        self._learn_settings()

    def set_credentials(self, *entries):
        table = super().set_credentials(*entries)
        self._learn_credentials(table)
        return table

    def config(self, **changes):
        settings = super().config(**changes)
        self.region, self.account_id = settings["region"], settings["account_id"]
        return settings

    def env(self, **overrides):
        """The AWS_* variables a client needs to reach this fake with its credentials.
        Keyword arguments override variables; None removes one."""
        env = {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ENDPOINT_URL_APPSTREAM": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if self.credentials:
            env["AWS_ACCESS_KEY_ID"] = self.credentials.access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
        if self.credentials and self.credentials.session_token:
            env["AWS_SESSION_TOKEN"] = self.credentials.session_token
        if self.ca_file:
            env["AWS_CA_BUNDLE"] = self.ca_file
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def subprocess_env(self, home, **overrides):
        """A complete, isolated environment for a client process: nothing from this
        machine's AWS setup (variables, ~/.aws) leaks in. `home` becomes HOME; the shared
        config and credentials files point into it (and need not exist)."""
        home = pathlib.Path(home)
        home.mkdir(parents=True, exist_ok=True)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_CONFIG_FILE": str(home / ".aws" / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / ".aws" / "credentials"),
            "AWS_PAGER": "",
        }
        env.update(self.env())
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def connection(self, timeout=15.0, host=None):
        """A new http.client connection to the fake (for keep-alive and raw tests)."""
        parts = urllib.parse.urlsplit(self.url)
        host = host or parts.hostname
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_file)
            return http.client.HTTPSConnection(host, parts.port, timeout=timeout,
                                               context=context)
        return http.client.HTTPConnection(host, parts.port, timeout=timeout)

    def call(self, operation, params=None, *, credentials=None, region=None, when=None,
             service="appstream", headers=None, unsigned_headers=None, body=None,
             tamper_body=None, sign=True, connection=None, timeout=15.0,
             target_prefix="PhotonAdminProxyService"):
        """Send one API request by hand and return the RawResponse.

        The request is what an SDK sends (POST /, JSON 1.1 content type and the target
        `target_prefix`.`operation`), signed with botocore for `credentials` (default: the
        fake's), `region` (default: the fake's), the signing name `service` and the time
        `when` (epoch seconds, default now). `headers` are added before signing and
        `unsigned_headers` after it (None values remove a header). `body` (bytes) is sent
        and signed instead of the JSON of `params`; `tamper_body` is sent instead of what
        was signed. `connection` reuses an http.client connection from connection()."""
        payload = body if body is not None else json.dumps(
            params if params is not None else {}).encode()
        send_headers = {"Content-Type": "application/x-amz-json-1.1",
                        "X-Amz-Target": f"{target_prefix}.{operation}"}
        send_headers.update(headers or {})
        send_headers = {k: v for k, v in send_headers.items() if v is not None}
        if sign:
            send_headers = sign_request("POST", self.url + "/", payload, send_headers,
                                        credentials or self.credentials,
                                        region or self.region, when, service)
        for name, value in (unsigned_headers or {}).items():
            send_headers.pop(name, None)
            if value is not None:
                send_headers[name] = value
        data = payload if tamper_body is None else tamper_body
        conn = connection or self.connection(timeout)
        try:
            conn.request("POST", "/", body=data, headers=send_headers)
            resp = conn.getresponse()
            return RawResponse(resp.status, resp.headers, resp.read())
        finally:
            if connection is None:
                conn.close()

    def botocore_client(self, credentials=None, region=None, service="appstream", **config):
        """A botocore client of `service` (AppStream, or ``organizations``) for this fake:
        no retries, short timeouts, nothing read from this machine's AWS configuration.
        `credentials` default to the fake's (the default account's), `region` to the
        fake's; `config` goes to botocore's Config."""
        import botocore.config
        import botocore.session

        creds = credentials or self.credentials
        session = botocore.session.Session()
        session.set_config_variable("config_file", os.devnull)
        session.set_config_variable("credentials_file", os.devnull)
        options = {"retries": {"total_max_attempts": 1, "mode": "standard"},
                   "connect_timeout": 5, "read_timeout": 15}
        options.update(config)
        return session.create_client(
            service, region_name=region or self.region, endpoint_url=self.url,
            verify=self.ca_file if self.ca_file else False,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
            config=botocore.config.Config(**options),
        )


@dataclasses.dataclass
class RawResponse:
    """An API answer as it came off the wire."""

    status: int
    headers: object
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def error_code(self):
        """The error code, with any namespace prefix removed (None on success)."""
        if self.status < 300:
            return None
        return self.json().get("__type", "").rsplit("#", 1)[-1]


def sign_request(method, url, body, headers, credentials, region, when=None,
                 service="appstream"):
    """SigV4-sign with botocore as of `when` (epoch seconds, default now); returns the
    headers to send (the given ones plus X-Amz-Date, Authorization and the token)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = SigV4Auth(BotoCredentials(credentials.access_key_id,
                                       credentials.secret_access_key,
                                       credentials.session_token), service, region)
    stamp = time.time() if when is None else when
    request.context["timestamp"] = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(stamp))
    # add_auth() would take the time from the system clock; these are its steps with
    # the time given instead.
    signer._modify_request_before_signing(request)
    canonical = signer.canonical_request(request)
    signature = signer.signature(signer.string_to_sign(request, canonical), request)
    signer._inject_signature_to_request(request, signature)
    return dict(request.headers.items())


def _await_listening(process, timeout, log_file):
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the fake did not report LISTENING within {timeout} s; "
                               f"see {log_file}")
        ready, _, _ = select.select([process.stdout], [], [], left)
        if ready:
            chunk = os.read(process.stdout.fileno(), 1024)
            if not chunk:
                status = process.wait(timeout)
                raise RuntimeError(f"the fake exited (status {status}) before listening: "
                                   f"{pathlib.Path(log_file).read_text(errors='replace')}")
            line += chunk
    text = line.decode().strip()
    if not text.startswith("LISTENING "):
        raise RuntimeError(f"unexpected first line from the fake: {text!r}")
    return text.split(" ", 1)[1]


def _terminate(process, timeout=10.0):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    if process.stdout:
        process.stdout.close()
    return process.returncode
