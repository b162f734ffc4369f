"""I8: credentials never appear in logs, state files, metrics, error messages or process
arguments, proven by running the real daemon through its lifecycle and its error paths and
searching everything it leaves behind for the secret access key and the session token.

What is searched: stdout and stderr (at debug level), every file in the state directory
(state, lock, metrics), the output of status/list/plan, /proc/<pid>/cmdline of the daemon,
and /proc/<pid>/cmdline and environ of every credential_process it spawns. The daemon's own
environ is searched only where the test did not put the secret there itself (the credential
process case): environment credentials are the caller's choice, not a leak.
"""

import datetime
import json
import pathlib
import secrets
import signal
import socket
import sys
import time

import pytest

from fake_appstream.control import Credentials
from reconciler import Daemon, base_config, client_env, run

OLD = "06-19-2023"
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}


def _secret_pair():
    """A secret key and a session token that nothing else could contain by chance."""
    return ("SeCrEt" + secrets.token_urlsafe(30), "ToKeN" + secrets.token_urlsafe(90))


def _needles(*values):
    """The values and long pieces of them: a truncated secret is still a leak."""
    found = set()
    for value in values:
        found |= {value, value[:16], value[-16:]}
    return {n.encode() for n in found}


def _leaks(blob, needles):
    if isinstance(blob, str):
        blob = blob.encode()
    return sorted(n.decode() for n in needles if n in blob)


def _state_files(tmp_path):
    return {str(p): p.read_bytes() for p in (tmp_path / "state").iterdir() if p.is_file()}


def _assert_clean(outputs, needles):
    leaked = {name: _leaks(blob, needles) for name, blob in outputs.items()}
    assert {name: found for name, found in leaked.items() if found} == {}


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, daemon, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert daemon.proc.poll() is None, daemon.log()
        assert time.monotonic() < deadline, f"{what}:\n{daemon.log()}"
        time.sleep(0.05)


def _updated(fake, names):
    latest = fake.config()["latest_version"]
    return all(fake.builder(n)["State"] == "RUNNING"
               and fake.builder(n)["AppstreamAgentVersion"] == latest for n in names)


def _read_commands(config, env):
    """The read-only commands, as an operator would run them after the fact."""
    outputs = {}
    for args in (["status"], ["status", "--json"], ["list", "--json"], ["plan", "--json"],
                 ["-v", "list"]):
        result = run(["-c", str(config), *args], env)
        outputs[" ".join(args)] = result.stdout + result.stderr
    return outputs


@pytest.mark.time_limit(90)
def test_a_daemon_lifecycle_never_shows_the_credentials(fake, tmp_path):
    secret, token = _secret_pair()
    creds = Credentials("ASIASECRETSLIFECYCLE", secret, token)
    fake.set_credentials(creds)
    fake.config(durations=FAST)
    names = fake.generate(2, prefix="sec-", version=OLD)
    state_dir = tmp_path / "state"
    config = base_config(fake, tmp_path, reconciler={
        "poll_interval": "1s", "metrics_file": str(state_dir / "metrics.prom")})
    env = client_env(fake, tmp_path / "home")
    assert env["AWS_SECRET_ACCESS_KEY"] == secret and env["AWS_SESSION_TOKEN"] == token
    outputs = {}

    daemon = Daemon(config, env, tmp_path / "daemon.log", args=("-v", "run"))
    try:
        outputs["daemon cmdline"] = pathlib.Path(f"/proc/{daemon.proc.pid}/cmdline").read_bytes()
        _wait(lambda: _updated(fake, names), daemon, "the fleet was not updated")
        daemon.signal(signal.SIGHUP)
        _wait(lambda: "configuration reloaded" in daemon.log(), daemon, "no reload")
        # The service holds the daemon's token for expired: refused after every attempt.
        fake.set_credentials(creds.as_entry(expires_in=-60))
        _wait(lambda: "ExpiredTokenException" in daemon.log(), daemon, "no expiry")
        fake.set_credentials(creds)
        mark = len(daemon.log())
        _wait(lambda: "debug: pass " in daemon.log()[mark:], daemon,
              "no pass after the credentials came back")
    finally:
        status = daemon.stop()
    assert status == 0, daemon.log()
    outputs["daemon stderr"] = daemon.log()

    outputs.update(_read_commands(config, env))
    outputs.update(_unreachable_outputs(fake, tmp_path, env))
    outputs.update(_state_files(tmp_path))

    assert str(state_dir / "state.json") in outputs
    _assert_clean(outputs, _needles(secret, token))


def _unreachable_outputs(fake, tmp_path, env):
    """once and list against an endpoint where nothing listens: exit 3, error messages."""
    work = tmp_path / "unreachable"
    work.mkdir()
    config = base_config(fake, work)
    text = config.read_text().replace(f"endpoint = {fake.url}",
                                      f"endpoint = https://127.0.0.1:{_closed_port()}")
    config.write_text(text)
    outputs = {}
    for command in ("once", "list"):
        result = run(["-c", str(config), "-v", command], env)
        assert result.returncode == 3, result.stderr
        outputs[f"unreachable {command}"] = result.stdout + result.stderr
    return outputs


# A credential_process that serves the entries of serve.json one per run (the last from then
# on) and records the argv and environment it was given, and the daemon's, for the search.
HELPER = r'''
import json, os, pathlib, sys
home = pathlib.Path(sys.argv[1])
runs = home / "runs"
n = int(runs.read_text()) if runs.exists() else 0
runs.write_text(str(n + 1))
for who, pid in (("self", "self"), ("daemon", str(os.getppid()))):
    for what in ("cmdline", "environ"):
        data = pathlib.Path("/proc", pid, what).read_bytes()
        (home / f"run{n}-{who}-{what}").write_bytes(data)
entries = json.loads((home / "serve.json").read_text())
print(json.dumps(entries[min(n, len(entries) - 1)]))
'''


def _document(key_id, secret, token):
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
    return {"Version": 1, "AccessKeyId": key_id, "SecretAccessKey": secret,
            "SessionToken": token, "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}


@pytest.mark.time_limit(90)
def test_credential_process_secrets_stay_out_of_arguments_environments_and_logs(fake,
                                                                               tmp_path):
    secret, token = _secret_pair()
    stale_secret, stale_token = _secret_pair()
    key_id = "ASIASECRETSPROCESS01"
    helper_dir = tmp_path / "helper"
    helper_dir.mkdir()
    (helper_dir / "helper.py").write_text(HELPER)
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text(
        f"[default]\ncredential_process = {sys.executable} {helper_dir / 'helper.py'} "
        f"{helper_dir}\n")
    env = client_env(fake, home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                     AWS_SESSION_TOKEN=None)
    fake.config(durations=FAST)
    names = fake.generate(1, prefix="proc-", version=OLD)
    config = base_config(fake, tmp_path, reconciler={
        "metrics_file": str(tmp_path / "state" / "metrics.prom")})
    outputs = {}

    def serve(*documents):
        (helper_dir / "serve.json").write_text(json.dumps(list(documents)))
        (helper_dir / "runs").unlink(missing_ok=True)

    def command(name, *args, expect):
        result = run(["-c", str(config), "-v", *args], env)
        assert result.returncode == expect, result.stderr
        outputs[name] = result.stdout + result.stderr
        return result

    # A whole update: the secret comes from the helper and goes nowhere else.
    fake.set_credentials({"access_key_id": key_id, "secret_access_key": secret,
                          "session_token": token})
    serve(_document(key_id, secret, token))
    command("once", "once", expect=0)
    assert _updated(fake, names)
    # Stale credentials first, good ones on the refresh that ExpiredTokenException asks for:
    # the second helper run must not see the first run's secrets anywhere.
    fake.set_credentials({"access_key_id": "ASIASECRETSSTALE0001", "secret_access_key":
                          stale_secret, "session_token": stale_token, "expires_in": -60},
                         {"access_key_id": key_id, "secret_access_key": secret,
                          "session_token": token})
    serve(_document("ASIASECRETSSTALE0001", stale_secret, stale_token),
          _document(key_id, secret, token))
    command("list after expiry", "list", expect=0)
    assert (helper_dir / "runs").read_text() == "2"
    # Error paths: a secret the service does not know (static keys: see
    # test_a_wrong_secret_never_shows_the_credentials for a session), then a token the
    # service holds for expired.
    fake.set_credentials({"access_key_id": "AKIASECRETSSTATIC001",
                          "secret_access_key": "the-service-knows-another-secret"})
    wrong = _document("AKIASECRETSSTATIC001", "wrong" + secret, None)
    del wrong["SessionToken"], wrong["Expiration"]
    serve(wrong)
    assert "InvalidSignatureException" in command("wrong secret", "list", expect=3).stderr
    fake.set_credentials({"access_key_id": key_id, "secret_access_key": secret,
                          "session_token": token, "expires_in": -60})
    serve(_document(key_id, secret, token))
    assert "ExpiredTokenException" in command("expired token", "list", expect=3).stderr

    records = {p.name: p.read_bytes() for p in helper_dir.iterdir() if p.name.startswith("run")}
    assert {"run0-self-cmdline", "run1-self-environ", "run1-daemon-environ"} <= set(records)
    outputs.update(records)
    outputs.update(_state_files(tmp_path))
    _assert_clean(outputs, _needles(secret, token, stale_secret, stale_token, "wrong" + secret))
    # The search does find a secret where one is: the helper's own input.
    assert _leaks((helper_dir / "serve.json").read_bytes(), _needles(secret))




@pytest.mark.parametrize("with_token", [
    False, True],
    ids=["static-keys", "session-token"])
def test_a_wrong_secret_never_shows_the_credentials(fake, tmp_path, with_token):
    secret, token = _secret_pair()
    held = Credentials("ASIASECRETSWRONGKEY1", secret, token if with_token else None)
    fake.set_credentials(Credentials(held.access_key_id, "the-service-knows-another-secret",
                                     held.session_token))
    fake.generate(1, prefix="wrong-", version=OLD)
    config = base_config(fake, tmp_path)
    env = client_env(fake, tmp_path / "home", AWS_SECRET_ACCESS_KEY=secret,
                     AWS_SESSION_TOKEN=held.session_token)
    outputs = {}
    for command in ("list", "once"):
        result = run(["-c", str(config), "-v", command], env)
        assert result.returncode == 3, result.stderr
        assert "InvalidSignatureException" in result.stderr
        outputs[command] = result.stdout + result.stderr
    outputs.update(_state_files(tmp_path))
    _assert_clean(outputs, _needles(secret, token))


def test_an_api_error_is_one_line_on_stderr(fake, tmp_path):
    fake.set_credentials(Credentials("AKIASECRETSONELINE01", "the-service-knows-this-one"))
    config = base_config(fake, tmp_path)
    env = client_env(fake, tmp_path / "home", AWS_SECRET_ACCESS_KEY="but-we-sign-with-this")

    result = run(["-c", str(config), "list"], env)

    assert result.returncode == 3
    assert "InvalidSignatureException" in result.stderr
    lines = result.stderr.splitlines()
    assert all(line.startswith(("info:", "notice:", "warning:", "error:")) for line in lines), \
        result.stderr
