"""The safety invariants I1-I8 of SPEC.md, end to end: the real daemon against the fake
AppStream. The fake's call log is the ground truth of what the daemon did; the fake's builder
states and the state file show what it left behind.

Windows are computed from the current UTC time (the daemon reads the real wall clock), and
builder transitions are either short real-time durations or the fake's manual clock, moved by
the test (or by a Ticker while the daemon works)."""

import datetime
import json
import pathlib
import signal
import stat
import time

import pytest

from fake_appstream.control import Credentials
from reconciler import (Daemon, FAST, Ticker, accepted, base_config, client_env, env_of, phases,
                        max_overlap, read_state, run, start_daemon, state_path,
                        wait_until)

OLD = "06-19-2023"
MUTATING = ("StopImageBuilder", "StartImageBuilder")


# ---- helpers ---------------------------------------------------------------------------


def mutating(fake):
    return [c for c in fake.calls() if c["operation"] in MUTATING]


def describes(fake):
    return len(fake.calls("DescribeImageBuilders"))


def latest(fake):
    return fake.config()["latest_version"]


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def daily(start_min, end_min):
    """A daily UTC window from start_min to end_min minutes from the current minute."""
    base = utc_now().replace(second=0, microsecond=0)
    at = [(base + datetime.timedelta(minutes=m)).strftime("%H:%M") for m in (start_min, end_min)]
    return f"daily {at[0]}-{at[1]} UTC"


def assert_no_mutation(fake, why):
    calls = mutating(fake)
    assert not calls, f"{why}: {[(c['operation'], c['names']) for c in calls]}"


# ---- I1: only inside a window, with min_window_left to spare ----------------------------


@pytest.mark.parametrize("kind", ["closed", "closing-soon"])
def test_i1_no_stop_or_start_outside_a_usable_window(fake, tmp_path, daemons, kind):
    fake.generate(3, prefix="i1-", version=OLD)
    window = daily(120, 180) if kind == "closed" else daily(-60, 10)
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"},
                      policy={"window": window, "min_window_left": "30m"})
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env)
    assert once.returncode == 0, once.stderr
    decision = "outside-window" if kind == "closed" else "too-little-window-left"
    assert once.stderr.count(f"REASON={decision}") == 3, once.stderr

    d = start_daemon(daemons, cfg, env, tmp_path)
    before = describes(fake)
    wait_until(lambda: describes(fake) >= before + 3, what="three polls")
    assert d.stop() == 0
    assert_no_mutation(fake, f"window {window}")
    assert all(b["State"] == "RUNNING" and b["AppstreamAgentVersion"] == OLD
               for b in fake.builders())


def test_i1_updates_happen_inside_an_open_window(fake, tmp_path):
    fake.config(durations=FAST)
    names = fake.generate(3, prefix="i1-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3},
                      policy={"window": daily(-60, 120), "min_window_left": "30m"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    for name in names:
        b = fake.builder(name)
        assert (b["State"], b["AppstreamAgentVersion"]) == ("RUNNING", latest(fake))
        assert len(accepted(fake, "StopImageBuilder", name)) == 1


# ---- I2: at most max_concurrent in an operation -----------------------------------------


def out_of_service_intervals(fake, durations):
    """Per builder: from our accepted Stop to its return to RUNNING, which the fake schedules
    `pending + updating_agent` after the accepted Start (simulation time)."""
    intervals = {}
    for c in accepted(fake, "StopImageBuilder"):
        intervals.setdefault(c["names"][0], [c["time"], None])
    for c in accepted(fake, "StartImageBuilder"):
        back = c["time"] + durations["pending"] + durations["updating_agent"]
        intervals[c["names"][0]][1] = back
    return intervals


@pytest.mark.time_limit(90)
def test_i2_never_more_than_max_concurrent_in_flight(fake, tmp_path):
    durations = fake.config(durations={"stopping": 0.4, "pending": 0.4,
                                       "updating_agent": 0.4})["durations"]
    names = fake.generate(8, prefix="i2-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3})
    d = Daemon(cfg, env_of(fake, tmp_path), tmp_path / "once.log", args=("once",))
    in_state, out_of_service = [], []
    try:
        while d.proc.poll() is None:
            in_state.append(len(phases(tmp_path)))
            out_of_service.append(sum(b["State"] != "RUNNING" for b in fake.builders()))
            time.sleep(0.05)
    finally:
        code = d.kill()

    assert code == 0, d.log()
    intervals = out_of_service_intervals(fake, durations)
    assert sorted(intervals) == names and all(end for _, end in intervals.values())
    assert max_overlap(intervals) == 3, intervals
    assert max(in_state) <= 3 and max(out_of_service) <= 3
    assert all(fake.builder(n)["AppstreamAgentVersion"] == latest(fake) for n in names)


# ---- I3: a builder we stopped is started again ------------------------------------------


@pytest.mark.time_limit(90)
def test_i3_sigterm_while_stopped_by_us_then_restart_starts_them(fake, tmp_path, daemons):
    fake.config(manual_clock=True)
    names = fake.generate(3, prefix="i3-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3})
    env = env_of(fake, tmp_path)
    # Start is refused for now, so the builders stay STOPPED with the intent to start them.
    fake.add_fault("throttle", operations=["StartImageBuilder"], count=1000)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: set(phases(tmp_path).values()) == {"STOPPING"}
               and len(phases(tmp_path)) == 3, what="three stops")
    fake.advance(5)
    wait_until(lambda: len(fake.calls("StartImageBuilder")) >= 3, what="refused starts")

    d.signal(signal.SIGTERM)
    assert d.wait(15) == 0, d.log()
    assert all(fake.builder(n)["State"] == "STOPPED" for n in names)
    assert set(phases(tmp_path)) == set(names)
    assert set(phases(tmp_path).values()) == {"START_INTENT"}

    fake.clear_faults()
    with Ticker(fake):
        again = run(["-c", str(cfg), "once"], env)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("resuming the update of builder") == 3
    for n in names:
        b = fake.builder(n)
        assert (b["State"], b["AppstreamAgentVersion"]) == ("RUNNING", latest(fake))
        assert len(accepted(fake, "StopImageBuilder", n)) == 1
        assert len(accepted(fake, "StartImageBuilder", n)) == 1
    assert phases(tmp_path) == {}


def zone_turning_a_minute_in(seconds):
    """A POSIX TZ, a few seconds off UTC, whose local clock reaches a whole minute `seconds`
    from now (windows have minute boundaries); returns it, that instant and the local time."""
    instant = int(time.time()) + seconds
    offset = -instant % 60
    local = datetime.datetime.fromtimestamp(instant + offset, datetime.timezone.utc)
    return f"TST-0:00:{offset:02d}", instant, local


@pytest.mark.time_limit(90)
def test_i3_window_closing_mid_operation_strands_nothing(fake, tmp_path):
    fake.config(manual_clock=True)
    names = fake.generate(3, prefix="i3-", version=OLD)
    tz, closes, local = zone_turning_a_minute_in(8)
    window = f"daily {local - datetime.timedelta(hours=1):%H:%M}-{local:%H:%M}"  # local zone
    cfg = base_config(fake, tmp_path, policy={"window": window, "min_window_left": "0s"})
    d = Daemon(cfg, env_of(fake, tmp_path, TZ=tz), tmp_path / "once.log", args=("once",))
    try:
        wait_until(lambda: len(accepted(fake, "StopImageBuilder")) == 2, what="two stops")
        # The builders stay STOPPING (manual clock) until the window has closed.
        time.sleep(max(0.0, closes - time.time()) + 1.0)
        with Ticker(fake):
            d.proc.wait(timeout=60)
    finally:
        code = d.kill()

    assert code == 0, d.log()
    first, second, third = names
    for n in (first, second):
        b = fake.builder(n)
        assert (b["State"], b["AppstreamAgentVersion"]) == ("RUNNING", latest(fake))
        assert all(c["wall"] < closes for c in accepted(fake, "StopImageBuilder", n))
        assert all(c["wall"] > closes for c in accepted(fake, "StartImageBuilder", n))
    # The third was waiting for a slot when the window closed: it is not begun after it.
    assert not [c for c in mutating(fake) if third in c["names"]]
    assert fake.builder(third)["AppstreamAgentVersion"] == OLD
    assert "REASON=outside-window" in d.log()


@pytest.mark.parametrize("policy, final_state, updated", [
    ("skip", "STOPPED", False),
    ("update", "RUNNING", True),
    ("update-and-stop", "STOPPED", True),
])
def test_i3_stopped_builders_follow_the_stopped_policy(fake, tmp_path, policy, final_state,
                                                       updated):
    fake.config(durations=FAST)
    stopped = fake.generate(2, prefix="off-", version=OLD, state="STOPPED")
    running = fake.generate(1, prefix="on-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3},
                      policy={"stopped": policy})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    for n in stopped:
        b = fake.builder(n)
        assert b["State"] == final_state
        assert b["AppstreamAgentVersion"] == (latest(fake) if updated else OLD)
        assert len(accepted(fake, "StartImageBuilder", n)) == (1 if updated else 0)
        assert len(accepted(fake, "StopImageBuilder", n)) == \
            (1 if policy == "update-and-stop" else 0)
        if not updated:
            assert not [c for c in fake.calls() if n in c["names"]]
    b = fake.builder(running[0])
    assert (b["State"], b["AppstreamAgentVersion"]) == ("RUNNING", latest(fake))


# ---- I4: write-ahead intent, atomic replace ---------------------------------------------


def assert_state_file_sound(tmp_path):
    path = state_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pathlib.Path(f"{path}.lock").exists()
    json.loads(path.read_text())


def test_i4_intent_is_on_disk_while_the_call_is_in_flight(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="i4-", version=OLD)[0]
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.5)
    fake.add_fault("slow", operations=["StartImageBuilder"], delay=1.5)
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    # The slow Stop is in flight: the fake has not answered (nor logged) it yet.
    wait_until(lambda: phases(tmp_path).get(name) == "STOP_INTENT", what="STOP_INTENT")
    assert_state_file_sound(tmp_path)
    assert fake.builder(name)["State"] == "RUNNING"
    assert not fake.calls("StopImageBuilder")
    wait_until(lambda: phases(tmp_path).get(name) == "STOPPING", what="STOPPING")
    assert len(accepted(fake, "StopImageBuilder")) == 1

    wait_until(lambda: phases(tmp_path).get(name) == "START_INTENT", what="START_INTENT")
    assert_state_file_sound(tmp_path)
    assert fake.builder(name)["State"] == "STOPPED"
    assert not fake.calls("StartImageBuilder")
    wait_until(lambda: name not in phases(tmp_path), what="the end of the update")
    assert d.stop() == 0
    assert len(accepted(fake, "StartImageBuilder")) == 1
    assert fake.builder(name)["AppstreamAgentVersion"] == latest(fake)


def test_i4_state_file_is_always_whole_and_private(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(4, prefix="i4-", version=OLD)
    cfg = base_config(fake, tmp_path)
    d = Daemon(cfg, env_of(fake, tmp_path), tmp_path / "once.log", args=("once",))
    samples = 0
    try:
        while d.proc.poll() is None:
            try:
                text = state_path(tmp_path).read_text()
            except FileNotFoundError:
                continue
            json.loads(text)  # never a half-written file
            assert stat.S_IMODE(state_path(tmp_path).stat().st_mode) == 0o600
            samples += 1
    finally:
        code = d.kill()
    assert code == 0, d.log()
    assert samples > 0
    assert len(accepted(fake, "StartImageBuilder")) == 4
    assert sorted(p.name for p in state_path(tmp_path).parent.iterdir()) == \
        ["state.json", "state.json.lock"]


@pytest.mark.time_limit(90)
def test_i4_no_call_goes_out_while_the_intent_cannot_be_written(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    names = fake.generate(2, prefix="i4-", version=OLD, state="REBOOTING")
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: read_state(tmp_path) is not None, what="the first save")
    # Renaming a file over a non-empty directory fails, so every save fails from now on.
    path = state_path(tmp_path)
    path.unlink()
    path.mkdir()
    (path / "blocker").write_text("")
    for n in names:
        fake.set_state(n, "RUNNING")
    before = describes(fake)
    wait_until(lambda: describes(fake) >= before + 3, what="three polls")
    assert_no_mutation(fake, "with an unwritable state file")
    assert f"saving state file {path}" in d.log()

    # The intents were dropped unsent; the daemon itself carries on.
    assert d.proc.poll() is None
    assert d.stop() == 0


# ---- I5: the circuit breaker --------------------------------------------------------------


@pytest.mark.time_limit(90)
@pytest.mark.parametrize("knob, final_state", [("update_does_not_take", "RUNNING"),
                                               ("fail_start", "FAILED")])
def test_i5_breaker_stops_new_updates_for_the_window(fake, tmp_path, knob, final_state):
    fake.config(durations=FAST)
    names = [f"i5-{i:02d}" for i in range(1, 5)]
    fake.add_builders(*({"Name": n, "AppstreamAgentVersion": OLD, knob: True} for n in names))
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 1, "max_failures": 2},
                      policy={"window": daily(-60, 120), "min_window_left": "5m"})
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env)

    assert once.returncode == 1, once.stderr
    assert "max_failures reached in this window" in once.stderr
    failed, untouched = names[:2], names[2:]
    for n in failed:
        assert len(accepted(fake, "StopImageBuilder", n)) == 1
        assert len(accepted(fake, "StartImageBuilder", n)) == 1
        assert fake.builder(n)["State"] == final_state
    for n in untouched:
        assert not [c for c in mutating(fake) if n in c["names"]]
        assert fake.builder(n)["State"] == "RUNNING"

    # Still the same window: a second run starts nothing and reports the open breaker.
    calls = len(mutating(fake))
    again = run(["-c", str(cfg), "once"], env)
    assert again.returncode == 1, again.stderr
    assert "REASON=breaker-open" in again.stderr
    assert len(mutating(fake)) == calls


def test_i5_throttling_that_outlasts_the_retries_is_not_a_failure(fake, tmp_path):
    fake.config(durations=FAST)
    names = fake.generate(2, prefix="i5-", version=OLD)
    for operation in MUTATING:
        fake.add_fault("throttle", operations=[operation], count=2)
    cfg = base_config(fake, tmp_path, reconciler={"max_failures": 1})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert once.stderr.count("will try again next poll") == 4
    for n in names:
        assert fake.builder(n)["AppstreamAgentVersion"] == latest(fake)
        assert len(accepted(fake, "StopImageBuilder", n)) == 1
        assert len(accepted(fake, "StartImageBuilder", n)) == 1
    st = read_state(tmp_path)
    assert st["failures"] == [] and st["backoff"] == []
    assert [h["result"] for h in st["history"]] == ["succeeded", "succeeded"]


# ---- I6: dry run ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["--dry-run", "dry_run = yes"])
def test_i6_dry_run_makes_no_mutating_call(fake, tmp_path, daemons, how):
    fake.generate(3, prefix="i6-", version=OLD)
    fake.generate(1, prefix="i6-off-", version=OLD, state="STOPPED")
    reconciler = {"poll_interval": "1s"}
    if how == "dry_run = yes":
        reconciler["dry_run"] = "yes"
    cfg = base_config(fake, tmp_path, reconciler=reconciler, policy={"stopped": "update"})
    flags = ["--dry-run"] if how == "--dry-run" else []
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), *flags, "once"], env, timeout=20)
    assert once.returncode == 0, once.stderr
    assert once.stderr.count("REASON=would-update") == 2  # max_concurrent = 2
    assert once.stderr.count("REASON=waiting-for-slot") == 2
    assert "dry run" in once.stderr

    d = start_daemon(daemons, cfg, env, tmp_path, *flags, "run")
    before = describes(fake)
    wait_until(lambda: describes(fake) >= before + 3, what="three polls")
    assert d.stop() == 0
    assert "REASON=would-update" in d.log()
    assert_no_mutation(fake, how)
    assert phases(tmp_path) == {}


def test_i6_dry_run_does_not_resume_an_operation_either(fake, tmp_path, daemons):
    fake.config(manual_clock=True)
    name = fake.generate(1, prefix="i6-", version=OLD)[0]
    cfg = base_config(fake, tmp_path)
    env = env_of(fake, tmp_path)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: phases(tmp_path).get(name) == "STOPPING", what="the stop")
    d.kill()
    fake.advance(5)
    assert fake.builder(name)["State"] == "STOPPED"
    calls = len(mutating(fake))

    dry = run(["-c", str(cfg), "--dry-run", "once"], env, timeout=20)

    assert dry.returncode == 0, dry.stderr
    assert "dry run: would call StartImageBuilder for builder i6-01" in dry.stderr
    assert len(mutating(fake)) == calls
    assert fake.builder(name)["State"] == "STOPPED"
    assert name in phases(tmp_path)
    with Ticker(fake):
        real = run(["-c", str(cfg), "once"], env)
    assert real.returncode == 0, real.stderr
    assert fake.builder(name)["AppstreamAgentVersion"] == latest(fake)


# ---- I7: states we do not act on ------------------------------------------------------------

LEFT_ALONE = ("PENDING", "UPDATING_AGENT", "STOPPING", "REBOOTING", "SNAPSHOTTING", "DELETING",
              "FAILED", "UPDATING", "PENDING_QUALIFICATION", "PENDING_IMAGE_IMPORT",
              "PENDING_SYNCING_APPS", "SYNCING_APPS", "RECALIBRATING_FLUX")


def test_i7_builders_in_busy_or_unknown_states_are_never_touched(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    alone = [f"busy-{s.lower()}" for s in LEFT_ALONE]
    fake.add_builders(*({"Name": n, "State": s, "AppstreamAgentVersion": OLD}
                        for n, s in zip(alone, LEFT_ALONE)))
    control = fake.generate(1, prefix="ctl-", version=OLD)[0]
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 20, "poll_interval": "1s"},
                      policy={"stopped": "update"})
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env)
    assert once.returncode == 0, once.stderr
    d = start_daemon(daemons, cfg, env, tmp_path)
    before = describes(fake)
    wait_until(lambda: describes(fake) >= before + 3, what="three polls")
    assert d.stop() == 0

    assert {n for c in mutating(fake) for n in c["names"]} == {control}
    for n, s in zip(alone, LEFT_ALONE):
        assert fake.builder(n)["State"] == s
        assert f"builder {n}: " in once.stderr  # a decision was logged for it
    assert once.stderr.count("REASON=busy-state") == len(LEFT_ALONE)
    assert fake.builder(control)["AppstreamAgentVersion"] == latest(fake)


# ---- I8: credentials never show ----------------------------------------------------------

SECRET = "s3cr3tKEYs3cr3tKEYs3cr3tKEYs3cr3tKEY0001"
TOKEN = "SeSsIoNtOkEnSeSsIoNtOkEnSeSsIoNtOkEn0002"

CREDENTIAL_PROCESS = """\
import datetime, json, pathlib, sys
dump, source = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
n = len(list(dump.glob("environ-*")))
(dump / f"environ-{n}").write_bytes(open("/proc/self/environ", "rb").read())
(dump / f"cmdline-{n}").write_bytes(open("/proc/self/cmdline", "rb").read())
creds = json.loads(source.read_text())
expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=8)
print(json.dumps({"Version": 1, **creds, "Expiration": expires.isoformat()}))
"""


def secrets_in(blob):
    if isinstance(blob, str):
        blob = blob.encode()
    return [s for s in (SECRET, TOKEN) if s.encode() in blob]


@pytest.mark.time_limit(90)
def test_i8_credentials_never_appear_in_logs_state_arguments_or_children(fake, tmp_path,
                                                                       daemons):
    fake.config(durations=FAST)
    key_id = "AKIAI8CREDSTEST00001"
    fake.set_credentials(Credentials(key_id, SECRET, TOKEN))
    fake.generate(2, prefix="i8-", version=OLD)
    fake.add_builders({"Name": "i8-broken", "AppstreamAgentVersion": OLD, "fail_start": True})
    # A refused call and a throttled one, so error paths are logged too.
    fake.add_fault("error", operations=["StopImageBuilder"], code="AccessDeniedException",
                   status=400, message="User is not authorized to perform StopImageBuilder")
    fake.add_fault("throttle", operations=["DescribeImageBuilders"], skip=1)
    # Temporary credentials that expire within seconds come from a credential_process, so
    # the daemon holds secrets that its environment and arguments never had, and refreshes
    # them while it runs.
    home, dump = tmp_path / "home", tmp_path / "children"
    dump.mkdir()
    (home / ".aws").mkdir(parents=True)
    source = tmp_path / "creds.json"
    source.write_text(json.dumps({"AccessKeyId": key_id, "SecretAccessKey": SECRET,
                                  "SessionToken": TOKEN}))
    script = tmp_path / "creds.py"
    script.write_text(CREDENTIAL_PROCESS)
    (home / ".aws" / "config").write_text(
        f"[default]\ncredential_process = /usr/bin/python3 {script} {dump} {source}\n")
    env = client_env(fake, home, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None,
                     AWS_SESSION_TOKEN=None, AWS_MAX_ATTEMPTS=1)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3, "poll_interval": "1s"})

    d = start_daemon(daemons, cfg, env, tmp_path, "-v", "run")
    wait_until(lambda: len(accepted(fake, "StartImageBuilder")) >= 2, what="the updates")
    proc = pathlib.Path(f"/proc/{d.proc.pid}")
    outputs = {"cmdline": (proc / "cmdline").read_bytes(),
               "environ": (proc / "environ").read_bytes()}
    wait_until(lambda: len(list(dump.glob("environ-*"))) >= 2, timeout=30,
               what="a credentials refresh")
    assert d.stop() == 0

    assert {c["access_key_id"] for c in fake.calls()} == {key_id}
    assert "AccessDeniedException" in d.log() and "ThrottlingException" in d.log()
    outputs.update({"stderr": d.log(), "state": state_path(tmp_path).read_text()})
    for cmd in (["status"], ["status", "--json"], ["plan"], ["plan", "--json"], ["list"]):
        done = run(["-c", str(cfg), "-v", *cmd], env)
        assert done.returncode == 0, done.stderr
        outputs[" ".join(cmd)] = done.stdout + done.stderr
    for child in dump.iterdir():
        outputs[child.name] = child.read_bytes()
    assert secrets_in(source.read_text()) == [SECRET, TOKEN]  # the grep does find them
    for where, blob in outputs.items():
        assert not secrets_in(blob), f"credentials found in {where}"


def test_i8_session_token_is_not_echoed_from_a_signature_error(fake, tmp_path):
    key_id = "AKIAI8CREDSTEST00002"
    fake.set_credentials(Credentials(key_id, SECRET, TOKEN))
    fake.generate(1, prefix="i8-", version=OLD)
    env = env_of(fake, tmp_path, AWS_ACCESS_KEY_ID=key_id,
                 AWS_SECRET_ACCESS_KEY="wrong" + SECRET[5:], AWS_SESSION_TOKEN=TOKEN)
    cfg = base_config(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env)

    assert once.returncode == 3
    assert "InvalidSignatureException" in once.stderr
    assert not secrets_in(once.stderr)
