"""Promises kept at the edges: a listing that leaves a builder out, a state directory that
fills up or turns read-only, an agent that does not stick, an API that fails while `once`
holds a builder it stopped, and a wall clock that jumps.

Each test judges from the fake's call log, including what the state file said of the builder
at the moment each Stop and Start arrived (the fake's ``watch_state`` setting), and from the
state on disk."""

import json
import pathlib
import signal
import time

import pytest

from reconciler import (FAST, PLAIN_BIN, Daemon, SmallFs, accepted, assert_write_ahead,
                        base_config, env_of, phases, run, start_daemon, state_path, wait_until)

OLD = "06-19-2023"


def latest(fake):
    return fake.config()["latest_version"]


def watch(fake, tmp_path):
    """Has the fake note the state file's word on each Stop and Start as it arrives."""
    fake.config(watch_state=str(state_path(tmp_path)))


def lookups(fake, name):
    return [c for c in fake.calls("DescribeImageBuilders")
            if (c["params"] or {}).get("Names") == [name]]


# ---- 1. One missing entry never ends an operation that has a Stop on record (I3) ----------


@pytest.mark.parametrize("command", ["run", "once"])
def test_a_builder_missing_from_the_listing_after_its_stop_is_not_stranded(fake, tmp_path,
                                                                           daemons, command):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="gone-", version=OLD)[0]
    watch(fake, tmp_path)
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.0)
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path, command)

    wait_until(lambda: phases(tmp_path).get(name) == "STOP_INTENT", what="STOP_INTENT")
    # The listings right after the Stop leave the builder out, as a lagging one can.
    fake.add_fault("drop", builder=name, count=3)
    wait_until(lambda: fake.builder(name)["State"] == "RUNNING"
               and fake.builder(name)["AppstreamAgentVersion"] == latest(fake)
               and name not in phases(tmp_path), timeout=30, what="the update to finish")

    assert lookups(fake, name), "the missing builder was looked up by name"
    assert "abandoned" not in d.log()
    assert len(accepted(fake, "StopImageBuilder", name)) == 1
    assert len(accepted(fake, "StartImageBuilder", name)) == 1
    assert_write_ahead(fake, name)
    if command == "once":
        assert d.wait() == 0, d.log()
    else:
        assert d.stop() == 0


def test_a_builder_the_api_says_is_gone_ends_its_operation(fake, tmp_path, daemons):
    fake.config(durations={"stopping": 30.0})
    name = fake.generate(1, prefix="gone-", version=OLD)[0]
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: phases(tmp_path).get(name) == "STOPPING", what="STOPPING")
    fake.delete_builder(name)
    wait_until(lambda: name not in phases(tmp_path), what="the operation to end")
    assert lookups(fake, name)[-1]["outcome"] == "ResourceNotFoundException"
    assert "ResourceNotFoundException" in d.log() and "abandoned" in d.log()
    assert d.stop() == 0


# ---- 2. No call until the save that covers it succeeds (I4) ------------------------------


@pytest.fixture
def small_fs(tmp_path):
    with SmallFs(tmp_path / "state") as fs:
        yield fs


@pytest.mark.time_limit(90)
def test_no_start_goes_out_while_the_phase_before_it_is_unsaved(fake, tmp_path, daemons,
                                                                small_fs):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="full-", version=OLD)[0]
    watch(fake, tmp_path)
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.0)
    cfg = base_config(fake, tmp_path, reconciler={
        "metrics_file": str(tmp_path / "metrics.prom")})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: phases(tmp_path).get(name) == "STOP_INTENT", what="STOP_INTENT")
    small_fs.fill()
    wait_until(lambda: fake.builder(name)["State"] == "STOPPED", what="the builder to stop")
    before = len(fake.calls("DescribeImageBuilders"))
    wait_until(lambda: len(fake.calls("DescribeImageBuilders")) >= before + 3,
               what="three more polls")

    assert not fake.calls("StartImageBuilder"), "a Start went out with no START_INTENT on disk"
    assert "holding every Stop and Start" in d.log()
    assert "appstream_reconciler_state_unsaved 1" in (tmp_path / "metrics.prom").read_text()
    assert phases(tmp_path) == {name: "STOP_INTENT"}

    # Killed while holding; restarted once the disk is mended: one Stop, one Start in all.
    d.kill()
    small_fs.free()
    d2 = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: fake.builder(name)["AppstreamAgentVersion"] == latest(fake)
               and fake.builder(name)["State"] == "RUNNING" and not phases(tmp_path),
               what="the update to finish")
    assert d2.stop() == 0
    assert len(accepted(fake, "StopImageBuilder", name)) == 1
    assert len(accepted(fake, "StartImageBuilder", name)) == 1
    assert_write_ahead(fake, name)


@pytest.mark.time_limit(90)
def test_calls_resume_in_the_same_process_once_the_disk_has_room(fake, tmp_path, daemons,
                                                                 small_fs):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="full-", version=OLD)[0]
    watch(fake, tmp_path)
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.0)
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: phases(tmp_path).get(name) == "STOP_INTENT", what="STOP_INTENT")
    small_fs.fill()
    wait_until(lambda: "holding every Stop and Start" in d.log(), what="the hold")
    time.sleep(2)
    assert not fake.calls("StartImageBuilder")
    small_fs.free()
    wait_until(lambda: not phases(tmp_path) and
               fake.builder(name)["AppstreamAgentVersion"] == latest(fake),
               what="the update to finish")
    assert "written again; calls resume" in d.log()
    assert d.stop() == 0
    assert_write_ahead(fake, name)


# ---- 4. One successful update per builder and window -----------------------------------


def test_an_agent_that_does_not_stick_is_not_updated_again_in_the_window(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    name = fake.generate(1, prefix="stick-", version=OLD)[0]
    # idle polls every second, so that four of them pass quickly even on a loaded machine
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    env = env_of(fake, tmp_path)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: "updated: " in d.log() and not phases(tmp_path), what="the update")

    fake.update_builder(name, AppstreamAgentVersion=OLD)  # the old agent is back
    before = len(fake.calls("DescribeImageBuilders"))
    wait_until(lambda: len(fake.calls("DescribeImageBuilders")) >= before + 4, timeout=40,
               what="four more polls")
    assert len(accepted(fake, "StopImageBuilder", name)) == 1
    assert d.stop() == 0

    plan = run(["-c", str(cfg), "plan", "--json"], env)
    assert plan.returncode == 0, plan.stderr
    row = {b["name"]: b for b in json.loads(plan.stdout)["builders"]}[name]
    assert row["decision"] == "updated-this-window", row
    assert row["compliance"] == "non-compliant"


# ---- 5. `once` never walks away from a builder it stopped -------------------------------


@pytest.mark.time_limit(90)
def test_once_keeps_trying_while_it_holds_a_builder_it_stopped(fake, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    name = fake.generate(1, prefix="once-", version=OLD)[0]
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path, "once")

    wait_until(lambda: phases(tmp_path).get(name) in ("STOPPING", "START_INTENT"),
               what="the Stop to be accepted")
    fake.add_fault("reset", probability=1.0)
    time.sleep(8)  # longer than `once` used to last with a failing API
    assert d.proc.poll() is None, d.log()
    fake.clear_faults()
    assert d.wait(30) == 0, d.log()
    assert fake.builder(name)["State"] == "RUNNING"
    assert fake.builder(name)["AppstreamAgentVersion"] == latest(fake)


@pytest.mark.time_limit(90)
def test_once_names_the_builder_it_leaves_stopped_when_it_gives_up(fake, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    name = fake.generate(1, prefix="once-", version=OLD)[0]
    cfg = base_config(fake, tmp_path, reconciler={"stop_timeout": "4s",
                                                  "update_timeout": "4s"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path, "once")

    wait_until(lambda: phases(tmp_path).get(name) in ("STOPPING", "START_INTENT"),
               what="the Stop to be accepted")
    fake.add_fault("reset", probability=1.0)
    started = time.monotonic()
    assert d.wait(60) == 3, d.log()
    assert time.monotonic() - started >= 3, "gave up before the update's own timeout"
    lines = [ln for ln in d.log().splitlines() if "left STOPPED" in ln and name in ln]
    assert lines and "once` again" in lines[0], d.log()
    assert phases(tmp_path) == {name: phases(tmp_path)[name]}, "the operation stays on disk"


# ---- 9. Timeouts on the monotonic clock --------------------------------------------------


def faketime_lib():
    found = sorted(pathlib.Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
    if not found:
        pytest.fail("libfaketime is missing (scripts/install-deps installs package faketime)")
    return str(found[0])


@pytest.mark.time_limit(90)
@pytest.mark.parametrize("step, outcome", [("-3600", "timed out"), ("+3600", "updated")])
def test_a_wall_clock_step_neither_hides_nor_fires_a_timeout(start_fake, tmp_path, daemons,
                                                             step, outcome):
    # Plain HTTP on loopback: a clock an hour back would find the TLS certificate not yet valid.
    fake = start_fake(tls=False)
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 3.0},
                max_skew=7200.0)
    name = fake.generate(1, prefix="clock-", version=OLD)[0]
    if outcome == "timed out":
        fake.update_builder(name, stuck_in="UPDATING_AGENT")
    offset = tmp_path / "faketime"
    offset.write_text("+0\n")
    cfg = base_config(fake, tmp_path, reconciler={"update_timeout": "6s"})
    env = env_of(fake, tmp_path, LD_PRELOAD=faketime_lib(), FAKETIME_TIMESTAMP_FILE=str(offset),
                 FAKETIME_NO_CACHE="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
    d = PlainDaemon(cfg, env, tmp_path / "plain.log")
    daemons.append(d)

    wait_until(lambda: phases(tmp_path).get(name) == "STARTING", what="the Start")
    offset.write_text(f"{step}\n")
    started = time.monotonic()
    wait_until(lambda: not phases(tmp_path), timeout=30, what="the operation to end")
    elapsed = time.monotonic() - started
    assert outcome in d.log(), d.log()
    if outcome == "timed out":
        assert elapsed < 15, "the timeout waited for the wall clock to catch up"
    else:
        assert "timed out" not in d.log()
    assert d.stop() == 0


class PlainDaemon(Daemon):
    """The plain build (LD_PRELOAD does not mix with AddressSanitizer)."""

    def __init__(self, config, env, log_path):
        super().__init__(config, env, log_path, argv=[PLAIN_BIN, "-c", str(config), "run"])


# ---- Shutdown with calls in flight ---------------------------------------------------------


def test_a_second_sigterm_with_a_call_in_flight_exits_cleanly(fake, tmp_path, daemons):
    """One call answers while another is still out; a second SIGTERM then ends the daemon at
    once. The call still out must be cancelled with the client, not answered into freed
    memory (the sanitizer build aborts on that)."""
    fake.config(durations={"stopping": 30.0})
    first, second = fake.generate(2, prefix="sig-", version=OLD)
    fake.add_fault("slow", operations=["StopImageBuilder"], names=[second], delay=8.0)
    cfg = base_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: phases(tmp_path) == {first: "STOPPING", second: "STOP_INTENT"},
               what="one Stop answered, the other still out")
    d.signal(signal.SIGTERM)
    assert d.wait_for_log("finishing what is in flight")
    d.signal(signal.SIGTERM)
    code = d.wait(15)
    assert "AddressSanitizer" not in d.log(), d.log()[-3000:]
    assert code == 0, d.log()[-3000:]
