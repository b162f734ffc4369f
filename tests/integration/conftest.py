"""Fixtures for integration tests against the fake AppStream server.

``fake``
    A running fake (:class:`fake_appstream.control.FakeAppStream`): HTTPS with a throwaway
    CA, real-time simulation clock, no builders, the default credentials, region
    us-east-1. One server serves the whole session and is reset before each test, so a
    test starts from that state whatever the previous one did. It offers ``.url``,
    ``.ca_file``, ``.credentials``, ``.region``, ``.env()`` (the AWS_* variables a client
    needs), ``.subprocess_env(home)`` (a complete isolated environment), ``.call()`` (one
    hand-made signed request), ``.botocore_client()``, and the control methods
    (``generate``, ``add_builders``, ``set_state``, ``config``, ``set_credentials``,
    ``add_fault``, ``calls``, ``advance``, ...). Use ``fake.config(manual_clock=True)``
    for deterministic transitions. Other accounts and regions: ``fake.estate(account,
    region)`` (the same control methods for that estate); the fake AWS Organizations it
    also serves: ``fake.organization``. The reset drops both back to their start.
``start_fake(*args, tls=True, host="127.0.0.1")``
    Start a dedicated fake with command-line options (e.g. ``"--builders", "12"``); it is
    stopped when the test ends.
``aws_cli(*args, server=None, env=None)``
    Run Debian's /usr/bin/aws against ``fake`` (or ``server``) with ``--endpoint-url``,
    JSON output, a throwaway HOME and config files, AWS_MAX_ATTEMPTS=1 and the fake's
    credentials; ``env`` overrides variables (None removes one). Returns the
    CompletedProcess.

``fake_sts``
    A running fake STS, SSO portal and SSO OIDC (:class:`fake_sts.control.FakeSTS`),
    linked to ``fake``: every credential it issues is added to the fake AppStream's
    accepted credentials, with the same expiry. One server serves the whole session,
    shares ``fake``'s CA (one AWS_CA_BUNDLE for both) and is reset before each test
    (after ``fake``): the default user (``fake``'s default keys), no roles, tokens, faults
    or calls. ``fake_sts.restrict_appstream()`` makes ``fake`` accept only what it issues.
    Role credentials belong to the role's account, at both fakes.
``start_fake_sts(*args, appstream=None, isolate=False, tls=True)``
    Start a dedicated fake STS with command-line options; ``isolate=True`` serves the real
    AWS host names in a private namespace (run clients with ``.run_inside()``). Stopped
    when the test ends.

``dynalite`` / ``table``
    dynalite (tests/dynalite_server.py), a real DynamoDB implementation on loopback, one a
    module; and a fresh table on it for the test, its name returned.

Every test has a time limit (60 s unless ``@pytest.mark.time_limit(seconds)``) enforced
with SIGALRM, so a hung client or server fails the test instead of the run.
"""

import os
import pathlib
import signal
import subprocess
import sys
import uuid

import pytest

TESTS_DIR = pathlib.Path(__file__).resolve().parents[1]
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from fake_appstream.control import FakeAppStream  # noqa: E402
from fake_sts.control import FakeSTS  # noqa: E402
from dynalite_server import DynaliteServer  # noqa: E402

AWS_CLI = "/usr/bin/aws"
DEFAULT_TIME_LIMIT = 60


class TimeLimitExceeded(Exception):
    pass


@pytest.fixture(autouse=True)
def _time_limit(request):
    marker = request.node.get_closest_marker("time_limit")
    seconds = marker.args[0] if marker else DEFAULT_TIME_LIMIT

    def expired(signum, frame):
        raise TimeLimitExceeded(f"{request.node.nodeid} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def fake_workdir(tmp_path_factory):
    """A session-wide directory; its tls/ holds the CA every fake of the session uses."""
    return tmp_path_factory.mktemp("fake-appstream")


@pytest.fixture(scope="session")
def _session_fake(fake_workdir):
    server = FakeAppStream.start(fake_workdir)
    yield server
    server.stop()


@pytest.fixture
def fake(_session_fake):
    status = _session_fake.process.poll()
    if status is not None:
        log = _session_fake.log_file.read_text(errors="replace")
        raise RuntimeError(f"the session's fake AppStream exited with status {status}:\n{log}")
    _session_fake.reset()
    return _session_fake


@pytest.fixture(scope="session")
def _session_fake_sts(fake_workdir, _session_fake):
    server = FakeSTS.start(fake_workdir / "sts", appstream=_session_fake,
                           tls_dir=fake_workdir / "tls")
    yield server
    server.stop()


@pytest.fixture
def fake_sts(fake, _session_fake_sts):
    status = _session_fake_sts.process.poll()
    if status is not None:
        log = _session_fake_sts.log_file.read_text(errors="replace")
        raise RuntimeError(f"the session's fake STS exited with status {status}:\n{log}")
    _session_fake_sts.reset()
    return _session_fake_sts


@pytest.fixture
def start_fake_sts(fake_workdir, tmp_path):
    started = []

    def start(*args, appstream=None, isolate=False, tls=True):
        server = FakeSTS.start(tmp_path / f"fake-sts-{len(started)}", tls=tls, args=args,
                               tls_dir=fake_workdir / "tls", appstream=appstream,
                               isolate=isolate)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def start_fake(fake_workdir, tmp_path):
    started = []

    def start(*args, tls=True, host="127.0.0.1"):
        server = FakeAppStream.start(tmp_path / f"fake-{len(started)}", tls=tls, args=args,
                                     host=host, tls_dir=fake_workdir / "tls")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def aws_cli(fake, tmp_path):
    home = tmp_path / "aws-home"

    def run(*args, server=None, env=None, timeout=45):
        target = server or fake
        full_env = target.subprocess_env(home, AWS_MAX_ATTEMPTS=1, AWS_RETRY_MODE="standard",
                                         **(env or {}))
        command = [AWS_CLI, *args, "--endpoint-url", target.url, "--output", "json"]
        return subprocess.run(command, env=full_env, capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    return run


def pytest_report_header(config):
    return f"fake_appstream from {TESTS_DIR / 'fake_appstream'}; AWS CLI {AWS_CLI}; " \
           f"python {sys.executable}; TEST_DATA_DIR={os.environ.get('TEST_DATA_DIR', '(default)')}"


@pytest.fixture
def daemons():
    """Daemons a test started (reconciler.start_daemon); any still running at its end are
    killed, so none keeps calling the shared fake during the next test."""
    started = []
    yield started
    for d in started:
        d.kill()


@pytest.fixture(scope="module")
def dynalite():
    with DynaliteServer(table=None) as db:
        yield db


@pytest.fixture
def table(dynalite):
    name = f"ha-{uuid.uuid4().hex[:12]}"
    dynalite.create_table(name)
    return name
