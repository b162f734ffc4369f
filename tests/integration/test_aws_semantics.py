"""AWS request semantics of the real daemon, proven end to end against the fake AppStream:
the SDKs' standard retry mode (attempts, backoff, retry quota, what is and is not retried),
clock-skew correction, and credentials that rotate or expire while requests keep flowing.

Every proof reads the fake's call log (what reached the service, in order) next to the
daemon's exit code and its stderr. Figures worth quoting (attempts, elapsed time, backoff
gaps) are printed to the terminal, not asserted: timings depend on the machine.
"""

import collections
import datetime
import json
import os
import pathlib
import secrets
import subprocess
import sys
import time

import pytest

from reconciler import BIN, Daemon, base_config, client_env, run

OLD = "06-19-2023"
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}
NO_ENV_CREDENTIALS = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                      "AWS_SESSION_TOKEN": None}


def _report(capsys, text):
    """Figures for the lead: printed past pytest's capture so that a normal run shows them."""
    with capsys.disabled():
        print(f"\n    [aws-semantics] {text}")


def _outcomes(calls):
    return [c["outcome"] for c in calls]


def _updated(fake, names):
    latest = fake.config()["latest_version"]
    return {n: (fake.builder(n)["State"], fake.builder(n)["AppstreamAgentVersion"])
            for n in names} == {n: ("RUNNING", latest) for n in names}


def _problems(log):
    """Warning and error lines of the daemon's stderr (retries that gave up, failed calls)."""
    return [line for line in log.splitlines() if line.startswith(("warning:", "error:"))]


def _once(fake, tmp_path, **reconciler):
    config = base_config(fake, tmp_path, reconciler=reconciler)
    return run(["-c", str(config), "once"], client_env(fake, tmp_path / "home"))


def _list(fake, tmp_path, **env):
    config = base_config(fake, tmp_path)
    return run(["-c", str(config), "list"], client_env(fake, tmp_path / "home", **env))


# ---- retries: standard mode ---------------------------------------------------------------


def test_a_single_throttle_is_retried_and_the_command_succeeds(fake, tmp_path):
    fake.generate(2, prefix="one-", version=OLD)
    fake.add_fault("throttle", operations=["DescribeImageBuilders"])

    result = _list(fake, tmp_path)

    assert result.returncode == 0, result.stderr
    assert "one-01" in result.stdout and "one-02" in result.stdout
    assert _outcomes(fake.calls()) == ["ThrottlingException", "OK"]
    assert _problems(result.stderr) == []


@pytest.mark.parametrize("burst", [("server_error", "unavailable"), ("reset", "unavailable")])
def test_5xx_and_connection_bursts_are_retried(fake, tmp_path, burst):
    fake.generate(1, prefix="burst-", version=OLD)
    for kind in burst:
        fake.add_fault(kind, operations=["DescribeImageBuilders"])

    result = _list(fake, tmp_path)

    assert result.returncode == 0, result.stderr
    expected = {"server_error": "InternalServerError", "unavailable": "ServiceUnavailable",
                "reset": "reset"}
    assert _outcomes(fake.calls()) == [expected[k] for k in burst] + ["OK"]


def test_a_validation_error_is_not_retried(fake, tmp_path):
    fake.add_fault("error", code="ValidationException", status=400,
                   message="1 validation error detected", operations=["DescribeImageBuilders"])

    result = _list(fake, tmp_path)

    calls = fake.calls()
    assert result.returncode != 0
    assert _outcomes(calls) == ["ValidationException"]
    assert "DescribeImageBuilders failed: ValidationException" in result.stderr
    assert calls[0]["request_id"] in result.stderr
    assert "attempts" not in result.stderr


@pytest.mark.time_limit(90)
@pytest.mark.parametrize("max_attempts", [None, "1", "4"])
def test_a_permanent_throttle_ends_after_exactly_max_attempts(fake, tmp_path, capsys,
                                                               max_attempts):
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], probability=1.0)

    result = _list(fake, tmp_path, AWS_MAX_ATTEMPTS=max_attempts)

    calls = fake.calls()
    attempts = int(max_attempts or 3)
    assert result.returncode != 0
    assert _outcomes(calls) == ["ThrottlingException"] * attempts
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    # The one error names the operation, the code, the last request id and the attempts.
    assert "DescribeImageBuilders failed: ThrottlingException (HTTP 400)" in errors[0]
    assert f"[request id {calls[-1]['request_id']}]" in errors[0]
    assert (f"after {attempts} attempts" in errors[0]) == (attempts > 1)
    gaps = [round(b["wall"] - a["wall"], 3) for a, b in zip(calls, calls[1:])]
    _report(capsys, f"permanent throttle, AWS_MAX_ATTEMPTS={max_attempts or '(default)'}: "
                    f"attempts {attempts}, gaps between them {gaps} s "
                    f"(full jitter: uniform in [0, 1], [0, 2], [0, 4] s)")


@pytest.mark.parametrize("variable, value", [("AWS_MAX_ATTEMPTS", "0"),
                                             ("AWS_MAX_ATTEMPTS", "three"),
                                             ("AWS_RETRY_MODE", "aggressive")])
def test_bad_retry_settings_are_refused_before_any_request(fake, tmp_path, variable, value):
    result = _list(fake, tmp_path, **{variable: value})

    assert result.returncode == 2
    assert f"{variable}: " in result.stderr and f"'{value}'" in result.stderr
    assert fake.calls() == []


@pytest.mark.parametrize("mode", ["standard", "legacy", "ADAPTIVE"])
def test_every_retry_mode_retries_as_standard(fake, tmp_path, mode):
    fake.generate(1, prefix="mode-", version=OLD)
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], count=2)

    result = _list(fake, tmp_path, AWS_RETRY_MODE=mode)

    assert result.returncode == 0, result.stderr
    assert _outcomes(fake.calls()) == ["ThrottlingException"] * 2 + ["OK"]


def test_list_exits_3_when_the_api_throttles_it_out(fake, tmp_path):
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], probability=1.0)

    result = _list(fake, tmp_path, AWS_MAX_ATTEMPTS=1)

    assert _outcomes(fake.calls()) == ["ThrottlingException"]
    assert result.returncode == 3


@pytest.mark.time_limit(90)
def test_the_retry_quota_caps_retries_across_concurrent_calls(fake, tmp_path, capsys):
    # 60 Stops throttled for good at once. Alone, each would be sent 3 times (180 in all);
    # the client-wide quota (500 tokens, 5 per retry, none returned without a success) pays
    # for exactly 100 retries, so 160 Stops reach the service whatever the interleaving.
    fleet = 60
    names = fake.generate(fleet, prefix="quota-", version=OLD)
    fake.add_fault("throttle", operations=["StopImageBuilder"], probability=1.0)
    config = base_config(fake, tmp_path, reconciler={
        "max_concurrent": fleet, "max_failures": 1000,
        "poll_interval": "10m", "active_poll_interval": "10m"})
    daemon = Daemon(config, client_env(fake, tmp_path / "home"), tmp_path / "daemon.log")
    started = time.monotonic()
    try:
        deadline = started + 60
        while (daemon.log().count("StopImageBuilder failed: ThrottlingException") < fleet
               and daemon.proc.poll() is None and time.monotonic() < deadline):
            time.sleep(0.1)
        elapsed = time.monotonic() - started
    finally:
        status = daemon.stop()

    log = daemon.log()
    assert status == 0, log
    assert log.count("StopImageBuilder failed: ThrottlingException") == fleet, log
    stops = fake.calls("StopImageBuilder")
    per_builder = collections.Counter(c["names"][0] for c in stops)
    assert set(per_builder) == set(names)
    assert len(stops) == fleet + 100
    assert sorted(collections.Counter(per_builder.values()).items()) == [(2, 20), (3, 40)]
    assert log.count("after 3 attempts") == 40 and log.count("after 2 attempts") == 20
    _report(capsys, f"retry quota: {fleet} throttled Stops -> {len(stops)} attempts "
                    f"(180 without the quota), {elapsed:.1f} s")


def test_concurrent_modification_on_a_stop_waits_for_a_later_poll(fake, tmp_path):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="cme-", version=OLD)
    fake.add_fault("error", code="ConcurrentModificationException", status=400,
                   message="The builder is being modified", operations=["StopImageBuilder"],
                   count=2)

    result = _once(fake, tmp_path)

    assert result.returncode == 0, result.stderr
    assert _updated(fake, [name])
    calls = fake.calls()
    stops = [c for c in calls if c["operation"] == "StopImageBuilder"]
    assert _outcomes(stops) == ["ConcurrentModificationException"] * 2 + ["OK"]
    # Each refused Stop was sent once; the next one follows a fresh describe (a later poll).
    for refused, following in zip(stops, stops[1:]):
        between = [c["operation"] for c in calls if refused["seq"] < c["seq"] < following["seq"]]
        assert "DescribeImageBuilders" in between
        assert "StopImageBuilder" not in between
    retries = [line for line in result.stderr.splitlines()
               if "ConcurrentModificationException" in line]
    assert len(retries) == 2 and all(line.startswith("warning:") for line in retries)
    assert all("will try again next poll" in line and "attempts" not in line
               for line in retries)


@pytest.mark.time_limit(90)
def test_a_throttling_storm_still_lets_once_converge(fake, tmp_path, capsys):
    # Half of all describes are throttled for the whole run (seeded: describes go one at a
    # time, so the run can be replayed), the third to fifth describes always, so that at
    # least one pass runs out of attempts and is retried on the next poll, and the first
    # attempt of every Stop and Start: about half of all requests are refused.
    fleet = 4
    fake.config(durations=FAST, seed=20240611)
    names = fake.generate(fleet, prefix="storm-", version=OLD)
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], skip=2, count=3)
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], probability=0.5)
    for name in names:
        for operation in ("StopImageBuilder", "StartImageBuilder"):
            fake.add_fault("throttle", operations=[operation], names=[name])

    started = time.monotonic()
    result = _once(fake, tmp_path, max_concurrent=fleet, poll_interval="1s")
    elapsed = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    assert _updated(fake, names)
    assert ("cannot describe image builders: DescribeImageBuilders failed: "
            "ThrottlingException") in result.stderr
    calls = fake.calls()
    throttled = sum(c["outcome"] == "ThrottlingException" for c in calls)
    for operation in ("StopImageBuilder", "StartImageBuilder"):
        mine = [c for c in calls if c["operation"] == operation]
        assert sorted(_outcomes(mine)) == ["OK"] * fleet + ["ThrottlingException"] * fleet
    gaps = []
    for name in names:
        for operation in ("StopImageBuilder", "StartImageBuilder"):
            first, second = [c for c in calls
                             if c["operation"] == operation and c["names"] == [name]]
            gaps.append(second["wall"] - first["wall"])
    _report(capsys, f"throttling storm: {fleet} builders, {len(calls)} attempts "
                    f"({throttled} throttled, {len(calls) - throttled} answered), "
                    f"once took {elapsed:.1f} s; first-retry gaps of Stop/Start "
                    f"min {min(gaps):.2f} mean {sum(gaps) / len(gaps):.2f} "
                    f"max {max(gaps):.2f} s")


def test_a_stop_throttled_through_every_attempt_is_tried_again_on_a_later_poll(fake, tmp_path):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="thr-", version=OLD)
    fake.add_fault("throttle", operations=["StopImageBuilder"], count=3)

    result = _once(fake, tmp_path)

    assert _outcomes(fake.calls("StopImageBuilder")) == ["ThrottlingException"] * 3 + ["OK"]
    assert result.returncode == 0, result.stderr
    assert _updated(fake, [name])


# ---- clock skew ---------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [20 * 60, -20 * 60], ids=["server-ahead", "server-behind"])
def test_a_skewed_clock_is_corrected_once_and_for_all(fake, tmp_path, offset):
    fake.config(clock_offset=offset, durations=FAST)
    names = fake.generate(2, prefix="skew-", version=OLD)

    result = _once(fake, tmp_path)

    assert result.returncode == 0, result.stderr
    assert _updated(fake, names)
    calls = fake.calls()
    # The first request is signed with the local clock and refused as expired (or not yet
    # current); its retry, signed at the server's time learnt from the refusal's Date header,
    # succeeds, and so does every later request of the run.
    assert calls[0]["outcome"] == "InvalidSignatureException"
    assert calls[1]["operation"] == "DescribeImageBuilders"
    assert _outcomes(calls[1:]) == ["OK"] * (len(calls) - 1)
    assert len(calls) >= 8  # describes, two Stops, two Starts: the correction stayed
    assert _problems(result.stderr) == []


# ---- credentials that rotate and expire ---------------------------------------------------

# A credential_process that prints the generation of credentials the test serves: the file's
# entries are handed out one per run (the last one from then on).
HELPER = r'''
import json, pathlib, sys
home = pathlib.Path(sys.argv[1])
runs = home / "runs"
n = int(runs.read_text()) if runs.exists() else 0
runs.write_text(str(n + 1))
entries = json.loads((home / "serve.json").read_text())
print(json.dumps(entries[min(n, len(entries) - 1)]))
'''


class CredentialSource:
    """Temporary credentials served through a profile's credential_process."""

    def __init__(self, directory, home):
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        helper = self.directory / "helper.py"
        helper.write_text(HELPER)
        aws = pathlib.Path(home) / ".aws"
        aws.mkdir(parents=True, exist_ok=True)
        (aws / "config").write_text(
            f"[default]\ncredential_process = {sys.executable} {helper} {self.directory}\n")

    def serve(self, *generations):
        path = self.directory / "serve.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([g.document() for g in generations]))
        os.replace(tmp, path)

    def runs(self):
        path = self.directory / "runs"
        return int(path.read_text()) if path.exists() else 0


class Generation:
    """One set of temporary credentials with its expiry (whole seconds, as STS gives)."""

    def __init__(self, lifetime):
        self.access_key_id = "ASIAROTATE" + secrets.token_hex(5).upper()
        self.secret_access_key = secrets.token_urlsafe(30)
        self.session_token = "FwoGZXIvYXdzE" + secrets.token_urlsafe(60)
        self.expires_at = int(time.time()) + lifetime

    def document(self):
        expiration = datetime.datetime.fromtimestamp(self.expires_at, datetime.timezone.utc)
        return {"Version": 1, "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key, "SessionToken": self.session_token,
                "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def entry(self, expires_at=None):
        return {"access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
                "session_token": self.session_token,
                "expiration": self.expires_at if expires_at is None else expires_at}


@pytest.mark.time_limit(90)
def test_credentials_rotate_while_a_fleet_is_reconciled(fake, tmp_path, capsys):
    # Every rotate_every seconds the source hands out new credentials that live `lifetime`
    # seconds and the service starts accepting them; older ones stay accepted until they
    # expire, as STS credentials do. The daemon must refresh before expiry, and a request that
    # still meets an expired token must be re-signed and succeed.
    rotate_every, lifetime = 2.0, 4
    fake.config(durations={"stopping": 0.5, "pending": 0.5, "updating_agent": 1.0})
    names = fake.generate(6, prefix="rot-", version=OLD)
    home = tmp_path / "home"
    source = CredentialSource(tmp_path / "creds", home)
    generations = []

    def rotate():
        generations.append(Generation(lifetime))
        fake.set_credentials(*[g.entry() for g in generations[-4:]])
        source.serve(generations[-1])

    rotate()
    config = base_config(fake, tmp_path, reconciler={"max_concurrent": 2})
    env = client_env(fake, home, **NO_ENV_CREDENTIALS)
    started = time.monotonic()
    proc = subprocess.Popen([BIN, "-c", str(config), "once"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    while True:
        try:
            out, err = proc.communicate(timeout=rotate_every)
            break
        except subprocess.TimeoutExpired:
            rotate()
    elapsed = time.monotonic() - started

    assert proc.returncode == 0, err
    assert _updated(fake, names)
    assert _problems(err) == []
    calls = fake.calls()
    used = [c["access_key_id"] for c in calls]
    keys = {g.access_key_id for g in generations}
    assert set(used) <= keys
    assert len(set(used)) >= 3, "the daemon kept one set of credentials through the run"
    assert source.runs() >= 3
    # Nothing but an occasional expired token was refused, and each such request was sent
    # again (a retry is not a failure).
    refused = [c for c in calls if c["outcome"] != "OK"]
    assert {c["outcome"] for c in refused} <= {"ExpiredTokenException"}
    _report(capsys, f"rotation: {len(generations)} generations served, "
                    f"{len(set(used))} used, credential_process ran {source.runs()} times, "
                    f"{len(calls)} requests ({len(refused)} met an expired token), "
                    f"once took {elapsed:.1f} s")


def test_an_expired_token_is_re_signed_with_fresh_credentials(fake, tmp_path):
    home = tmp_path / "home"
    source = CredentialSource(tmp_path / "creds", home)
    first, second = Generation(3600), Generation(3600)
    fake.set_credentials(first.entry())
    source.serve(first, second)
    fake.generate(1, prefix="exp-", version=fake.config()["latest_version"])
    config = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    daemon = Daemon(config, client_env(fake, home, **NO_ENV_CREDENTIALS), tmp_path / "d.log")
    try:
        _wait_for(lambda: any(c["outcome"] == "OK" for c in fake.calls()), daemon)
        # The service now holds the daemon's token for expired (ahead of the expiry the
        # daemon was told) and accepts the next generation.
        switch = fake.calls()[-1]["seq"]
        fake.set_credentials(first.entry(expires_at=int(time.time()) - 1), second.entry())
        _wait_for(lambda: any(c["access_key_id"] == second.access_key_id
                              and c["outcome"] == "OK" for c in fake.calls(since=switch)),
                  daemon)
    finally:
        status = daemon.stop()

    assert status == 0, daemon.log()
    # The first request the service held for expired was sent again at once, signed with
    # the next generation, which every later request used too.
    after = [c for c in fake.calls() if c["seq"] > switch]
    expired = [i for i, c in enumerate(after) if c["outcome"] != "OK"]
    assert len(expired) == 1, after
    refused, retry = after[expired[0]], after[expired[0] + 1]
    assert (refused["outcome"], refused["access_key_id"]) == ("ExpiredTokenException",
                                                              first.access_key_id)
    assert (retry["operation"], retry["outcome"], retry["access_key_id"]) == (
        refused["operation"], "OK", second.access_key_id)
    assert {c["access_key_id"] for c in after[expired[0] + 1:]} == {second.access_key_id}
    assert source.runs() == 2
    assert _problems(daemon.log()) == []


def _wait_for(predicate, daemon, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert daemon.proc.poll() is None, daemon.log()
        assert time.monotonic() < deadline, daemon.log()
        time.sleep(0.05)


# ---- found on the way ---------------------------------------------------------------------

SANITIZED = os.path.exists(BIN) and b"__ubsan_handle" in pathlib.Path(BIN).read_bytes()


@pytest.mark.skipif(not SANITIZED, reason="undefined behaviour that only UBSan reports")
def test_list_of_an_empty_fleet(fake, tmp_path):
    result = _list(fake, tmp_path)

    assert result.returncode == 0, result.stderr
    assert _outcomes(fake.calls()) == ["OK"]


def test_a_credential_process_that_overruns_its_timeout_is_killed(tmp_path):
    tool = pathlib.Path(BIN).parent / "tool_creds_fetch"
    pid_file = tmp_path / "helper.pid"
    helper = tmp_path / "slow.sh"
    helper.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 30\n")
    helper.chmod(0o755)
    (tmp_path / "config").write_text(f"[default]\ncredential_process = {helper}\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
           "AWS_EC2_METADATA_DISABLED": "true",
           **{k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}}
    proc = subprocess.Popen([str(tool), "--process-timeout-ms", "200"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, _ = proc.communicate(timeout=10)
        assert "did not finish within 200 ms and was killed" in out
        pid = int(pid_file.read_text())
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), 9)
            except ProcessLookupError:
                pass
