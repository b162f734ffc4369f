"""The daemon as operators and scripts meet it: `once` exit codes, SIGTERM and SIGHUP, the
state file's lock and its recovery from corruption, and the read-only commands `plan`,
`status` and `check-config`. The real binary runs against the fake AppStream."""

import datetime
import json
import pathlib
import signal
import socket

import pytest

from reconciler import (FAST, Daemon, accepted, base_config, env_of, phases, run, start_daemon,
                        state_path, wait_until, write_config)

OLD = "06-19-2023"


def touched(fake):
    """Builders named by a Stop or Start call, accepted or not."""
    return {n for c in fake.calls() if c["operation"] in ("StopImageBuilder", "StartImageBuilder")
            for n in c["names"]}


def minute_from_now(minutes):
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    return now + datetime.timedelta(minutes=minutes)


def closed_window():
    """A daily UTC window that opens in two hours; returns (window, its next opening)."""
    opens = minute_from_now(120)
    closes = minute_from_now(180)
    return f"daily {opens:%H:%M}-{closes:%H:%M} UTC", opens


def line_of(path, text):
    """1-based number of the first line of path containing text."""
    for number, line in enumerate(pathlib.Path(path).read_text().splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- once: exit codes -------------------------------------------------------------------


def test_once_exits_0_when_every_builder_is_compliant(fake, tmp_path):
    fake.generate(3, prefix="ok-")
    cfg = base_config(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert not touched(fake)


def test_once_exits_1_when_an_update_fails(fake, tmp_path):
    fake.config(durations=FAST)
    fake.add_builders({"Name": "bad-01", "AppstreamAgentVersion": OLD, "fail_start": True})
    fake.generate(1, prefix="good-", version=OLD)
    cfg = base_config(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 1, once.stderr
    assert "update of builder bad-01 failed" in once.stderr
    assert fake.builder("good-01")["AppstreamAgentVersion"] == fake.config()["latest_version"]


@pytest.mark.parametrize("why", ["network", "credentials"])
def test_once_exits_3_when_the_api_is_unreachable_or_refuses_us(fake, tmp_path, why):
    fake.generate(1, prefix="u-", version=OLD)
    if why == "network":
        extra = {"aws": {"region": fake.region, "endpoint": f"https://127.0.0.1:{closed_port()}"}}
        env = env_of(fake, tmp_path)
    else:
        extra = {}
        env = env_of(fake, tmp_path, AWS_ACCESS_KEY_ID="AKIANOTKNOWNTOTHEFAKE")
    cfg = base_config(fake, tmp_path, extra=extra)

    once = run(["-c", str(cfg), "once"], env)

    assert once.returncode == 3, once.stderr
    assert "cannot describe image builders" in once.stderr
    if why == "credentials":
        assert "UnrecognizedClientException" in once.stderr
    assert not touched(fake)


def test_once_gives_up_with_3_after_five_throttled_passes(fake, tmp_path):
    fake.generate(1, prefix="busy-", version=OLD)
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], probability=1.0)
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s",
                                                  "active_poll_interval": "1s"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 3, once.stderr
    assert len(fake.calls("DescribeImageBuilders")) == 5
    assert "ThrottlingException" in once.stderr
    assert not touched(fake)


# ---- signals ------------------------------------------------------------------------------


def test_sigterm_lets_the_call_in_flight_answer_persists_and_exits(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="t-", version=OLD)[0]
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.5)
    cfg = base_config(fake, tmp_path)
    env = env_of(fake, tmp_path)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: phases(tmp_path).get(name) == "STOP_INTENT", what="the stop intent")

    d.signal(signal.SIGTERM)

    assert d.wait(10) == 0, d.log()
    assert "received Terminated: finishing what is in flight" in d.log()
    assert len(accepted(fake, "StopImageBuilder")) == 1
    # The answer came in before the exit and its phase is on disk for the next start.
    assert phases(tmp_path) == {name: "STOPPING"}
    assert not fake.calls("StartImageBuilder")

    again = run(["-c", str(cfg), "once"], env)
    assert again.returncode == 0, again.stderr
    assert f"resuming the update of builder {name} from phase STOPPING" in again.stderr
    assert len(accepted(fake, "StopImageBuilder")) == 1
    assert fake.builder(name)["AppstreamAgentVersion"] == fake.config()["latest_version"]


def test_a_stop_asked_for_during_start_up_is_a_clean_stop(fake, tmp_path, daemons):
    """SIGTERM that reaches the daemon before its handlers are in place, here held pending by
    a mask it inherits as one arriving during start-up would be, still ends in a clean stop
    that begins no update; it is neither lost nor the signal's default death."""
    fake.generate(1, prefix="t-", version=OLD)
    cfg = base_config(fake, tmp_path)

    def sigterm_blocked():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})

    d = Daemon(cfg, env_of(fake, tmp_path), tmp_path / "daemon.log", preexec_fn=sigterm_blocked)
    daemons.append(d)
    d.signal(signal.SIGTERM)

    assert d.wait(15) == 0, d.log()
    assert "received Terminated: finishing what is in flight" in d.log()
    assert not touched(fake)


@pytest.mark.time_limit(90)
def test_sighup_reloads_a_good_config_and_keeps_the_old_one_on_a_bad_one(fake, tmp_path,
                                                                        daemons):
    fake.config(durations=FAST)
    fake.generate(3, prefix="rl-", version=OLD)
    window, _ = closed_window()
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"},
                      policy={"window": window})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: "REASON=outside-window" in d.log(), what="the first pass")

    base_config(fake, tmp_path, reconciler={"poll_interval": "1s"},
                policy={"exclude": "rl-02"})
    d.signal(signal.SIGHUP)
    assert d.wait_for_log(f"configuration reloaded from {cfg}")
    wait_until(lambda: len(accepted(fake, "StartImageBuilder")) == 2, what="two updates")
    assert touched(fake) == {"rl-01", "rl-03"}

    base_config(fake, tmp_path, reconciler={"poll_interval": "1s", "max_concurent": 3},
                policy={"exclude": "rl-02"})
    bad_line = line_of(cfg, "max_concurent")
    d.signal(signal.SIGHUP)
    assert d.wait_for_log("reload refused, keeping the running configuration")
    assert f"{cfg}:{bad_line}: unknown key in [reconciler]: 'max_concurent'" in d.log()

    # Still running, on the configuration it had: a new old builder is updated, rl-02 is not.
    fake.generate(1, prefix="rl-", version=OLD, first=4)
    wait_until(lambda: accepted(fake, "StartImageBuilder", "rl-04"), what="rl-04's update")
    assert d.proc.poll() is None

    # What a reload cannot move is said, and the running state file stays the one in use.
    moved = tmp_path / "elsewhere" / "state.json"
    base_config(fake, tmp_path, reconciler={"poll_interval": "1s", "state_file": str(moved)},
                policy={"exclude": "rl-02"})
    d.signal(signal.SIGHUP)
    assert d.wait_for_log("take effect at the next restart")
    assert d.stop() == 0
    assert touched(fake) == {"rl-01", "rl-03", "rl-04"}
    assert not moved.exists() and state_path(tmp_path).exists()


# ---- the state file: lock and corruption ----------------------------------------------------


def test_a_second_daemon_on_the_same_state_refuses_to_start(fake, tmp_path, daemons):
    fake.generate(1, prefix="l-")
    cfg = base_config(fake, tmp_path)
    env = env_of(fake, tmp_path)
    first = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: state_path(tmp_path).exists(), what="the first daemon's state")

    for command in ("run", "once"):
        second = run(["-c", str(cfg), command], env, timeout=20)
        assert second.returncode == 2, second.stderr
        assert f"state file {state_path(tmp_path)} is in use by another process" in \
            second.stderr
    status = run(["-c", str(cfg), "status"], env)  # read-only commands need no lock
    assert status.returncode == 0, status.stderr
    assert first.proc.poll() is None
    assert first.stop() == 0


def test_a_corrupt_state_file_is_moved_aside_and_the_daemon_goes_on(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(1, prefix="c-", version=OLD)
    cfg = base_config(fake, tmp_path)
    garbage = '{"format": 1, "operations": [oops'
    state_path(tmp_path).write_text(garbage)

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    aside = list(state_path(tmp_path).parent.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == garbage
    assert f"error: state file {state_path(tmp_path)} is corrupt" in once.stderr
    assert str(aside[0]) in once.stderr
    st = json.loads(state_path(tmp_path).read_text())
    assert [h["builder"] for h in st["history"]] == ["c-01"]


# ---- plan, status, check-config -------------------------------------------------------------


def test_plan_and_status_after_some_updates(fake, tmp_path):
    fake.config(durations=FAST)
    latest = fake.config()["latest_version"]
    names = fake.generate(2, prefix="p-", version=OLD)
    cfg = base_config(fake, tmp_path)
    env = env_of(fake, tmp_path)
    assert run(["-c", str(cfg), "once"], env).returncode == 0
    fake.generate(1, prefix="late-", version=OLD)
    window, opens = closed_window()
    base_config(fake, tmp_path, policy={"window": window})

    table = run(["-c", str(cfg), "plan"], env)
    as_json = run(["-c", str(cfg), "plan", "--json"], env)

    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    row = next(line for line in table.stdout.splitlines() if line.startswith("late-01"))
    assert "outside-window" in row and f"{opens:%Y-%m-%d %H:%M}" in row
    plan = {b["name"]: b for b in json.loads(as_json.stdout)["builders"]}
    assert plan["late-01"]["decision"] == "outside-window"
    assert plan["late-01"]["next_window"] == f"{opens:%Y-%m-%dT%H:%M:%SZ}"
    assert plan["late-01"]["compliance"] == "non-compliant"
    for n in names:
        assert (plan[n]["decision"], plan[n]["agent_version"]) == ("compliant", latest)
    assert touched(fake) == set(names)

    table = run(["-c", str(cfg), "status"], env)
    as_json = run(["-c", str(cfg), "status", "--json"], env)

    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    assert "Operations in flight: 0" in table.stdout
    assert "Recent results (newest first): 2" in table.stdout
    for n in names:
        assert any(line.startswith(n) and "succeeded" in line and f"{OLD}  {latest}" in line
                   for line in table.stdout.splitlines()), table.stdout
    st = json.loads(as_json.stdout)
    assert st["operations"] == [] and st["newest_seen"] == latest
    assert sorted((h["builder"], h["result"], h["from_version"], h["to_version"])
                  for h in st["history"]) == [(n, "succeeded", OLD, latest) for n in names]


def test_check_config_accepts_a_good_file(fake, tmp_path):
    cfg = base_config(fake, tmp_path)

    done = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path))

    assert done.returncode == 0, done.stderr
    assert f"{cfg}: configuration is valid" in done.stdout
    assert not fake.calls()


@pytest.mark.parametrize("section, key, value, message", [
    ("reconciler", "max_concurent", "3", "unknown key in [reconciler]: 'max_concurent'"),
    ("reconciler", "stop_timeout", "20 minutes", "'20 minutes'"),
    ("policy", "window", "Funday 02:00-04:00 UTC", "'Funday 02:00-04:00 UTC'"),
    ("policy", "stopped", "sometimes", "'sometimes'"),
])
def test_check_config_names_file_line_and_text_of_a_bad_value(fake, tmp_path, section, key,
                                                             value, message):
    cfg = base_config(fake, tmp_path)
    sections = {"aws": {"region": fake.region, "endpoint": fake.url},
                "reconciler": {"state_file": str(state_path(tmp_path))},
                "policy": {"window": "always", "min_window_left": "0s"}}
    sections[section][key] = value
    write_config(cfg, sections)

    done = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path))

    assert done.returncode == 2
    assert f"{cfg}:{line_of(cfg, f'{key} = {value}')}:" in done.stderr
    assert message in done.stderr


def test_check_config_shows_the_ha_settings(fake, tmp_path):
    cfg = base_config(fake, tmp_path, extra={"ha": {"table": "reconciler-ha", "holder": "host-a",
                                                    "lease_duration": "45s"}})

    done = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path))

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"{cfg}: configuration is valid",
        f"high availability ([ha] on line {line_of(cfg, '[ha]')}):",
        "  table = reconciler-ha",
        "  name = default",
        "  holder = host-a",
        "  lease_duration = 45s",
        f"  region = {fake.region} (the [aws] region)",
        "  endpoint = (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, the profile's, else the "
        "region's)"]
    assert not fake.calls()


@pytest.mark.parametrize("key, value, message", [
    ("lease", "30s", "unknown key in [ha]: 'lease'"),
    ("lease_duration", "2h", "lease_duration must be at most 1h: '2h'"),
    ("table", "ab", "'ab'"),
    ("name", "prod eu", "'prod eu'"),
])
def test_check_config_names_file_line_and_text_of_a_bad_ha_value(fake, tmp_path, key, value,
                                                                message):
    ha = {"table": "reconciler-ha"}
    ha[key] = value
    cfg = base_config(fake, tmp_path, extra={"ha": ha})

    done = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path))

    assert done.returncode == 2
    assert f"{cfg}:{line_of(cfg, f'{key} = {value}')}:" in done.stderr
    assert message in done.stderr


# ---- metrics ------------------------------------------------------------------------------


def test_metrics_file_counts_the_fleet_by_state_and_compliance(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(2, prefix="m-", version=OLD)
    fake.generate(1, prefix="n-", version=OLD, state="STOPPED")
    fake.generate(1, prefix="o-", version=OLD, state="SNAPSHOTTING")
    metrics = tmp_path / "state" / "reconciler.prom"
    cfg = base_config(fake, tmp_path, reconciler={"metrics_file": str(metrics)})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    samples = dict(line.rsplit(" ", 1) for line in metrics.read_text().splitlines()
                   if line and not line.startswith("#"))
    prefix = "appstream_reconciler_"
    assert samples[prefix + 'builders_by_state{state="RUNNING"}'] == "2"
    assert samples[prefix + 'builders_by_state{state="STOPPED"}'] == "1"
    assert samples[prefix + 'builders_by_state{state="SNAPSHOTTING"}'] == "1"
    assert samples[prefix + 'builders_by_compliance{compliance="compliant"}'] == "2"
    assert samples[prefix + 'builders_by_compliance{compliance="non-compliant"}'] == "2"
    assert samples[prefix + 'updates_total{result="succeeded"}'] == "2"
    assert oct(metrics.stat().st_mode & 0o777) == "0o644"


def test_decisions_are_logged_when_they_change_not_every_pass(fake, tmp_path, daemons):
    """A waiting builder is logged once, not at every poll; a builder that appears, or whose
    decision changes, is logged then, and its neighbours stay quiet."""
    first, second, third = fake.generate(3, prefix="quiet-", version=OLD)
    window, _ = closed_window()
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"},
                      policy={"window": window})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    def logged(name, reason):
        return sum(f"builder {name}: " in line and f"REASON={reason}" in line
                   for line in d.log().splitlines())

    def passes_from_now(n):
        before = len(fake.calls("DescribeImageBuilders"))
        wait_until(lambda: len(fake.calls("DescribeImageBuilders")) >= before + n,
                   what=f"{n} more describe passes")

    passes_from_now(3)
    assert [logged(n, "outside-window") for n in (first, second, third)] == [1, 1, 1], d.log()

    newcomer = first + "a"  # sorts between the first two
    fake.add_builders({"Name": newcomer, "AppstreamAgentVersion": OLD})
    fake.update_builder(third, AppstreamAgentVersion="not-a-version")
    passes_from_now(3)
    assert logged(newcomer, "outside-window") == 1, d.log()
    assert logged(third, "unknown-version") == 1, d.log()
    assert [logged(n, "outside-window") for n in (first, second, third)] == [1, 1, 1], d.log()
    assert d.stop() == 0
