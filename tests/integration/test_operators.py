"""Operators stay in charge, with the real daemon against the fake AppStream: the hold tag
(read just before a Stop, and again at the end of a notice; unreadable tags hold), pause and
resume while the daemon runs, running = skip, notices kept to the second and withdrawn when
the builder is no longer chosen, the ramp, settle, and denied Stops that leave the breaker
shut. Each test judges from the fake's call log and the daemon's events (stderr, one line
each, or the environment notify_command gets)."""

import calendar
import json
import re
import time

from reconciler import (FAST, accepted, base_config, env_of, run, start_daemon, state_path,
                        wait_until)

OLD = "06-19-2023"
HOLD = "appstream-agent-reconciler:hold"


def hook_script(tmp_path, body, name="hook.sh"):
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def recording_hook(tmp_path):
    """notify_command that appends each event's environment as one JSON line."""
    out = tmp_path / "events.jsonl"
    hook = hook_script(tmp_path, '/usr/bin/python3 -c "import json, os; '
                                 "print(json.dumps(dict(os.environ)))\" >> " + str(out))
    return str(hook), out


def recorded(out, event=None):
    if not out.exists():
        return []
    envs = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return [e for e in envs if event is None or e["EVENT"] == event]


def calls_for(fake, operation, name):
    return [c for c in fake.calls(operation) if name in c["names"]]


def stops(fake, name):
    return calls_for(fake, "StopImageBuilder", name)


def latest(fake):
    return fake.config()["latest_version"]


def updated(fake, name):
    b = fake.builder(name)
    return b["State"] == "RUNNING" and b["AppstreamAgentVersion"] == latest(fake)


def event_lines(log, event_text):
    return [line for line in log.splitlines() if event_text in line]


# ---- the hold tag (I10) --------------------------------------------------------------------


def test_a_held_builder_is_never_stopped_and_removing_the_hold_lets_the_next_pass_act(
        fake, tmp_path, daemons):
    fake.config(durations=FAST)
    held, free = fake.generate(2, prefix="h-", version=OLD)
    compliant = fake.generate(3, prefix="c-")
    fake.tag(held, {HOLD: "migrating the ERP client"})
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: updated(fake, free), timeout=30, what="the free builder updated")
    wait_until(lambda: len(calls_for(fake, "ListTagsForResource", held)) >= 3, timeout=20,
               what="the held builder's tags read on three passes")
    assert stops(fake, held) == []
    # Tags are read for the builders about to be stopped, never for the whole fleet.
    read = {n for c in fake.calls("ListTagsForResource") for n in c["names"]}
    assert read == {held, free}, read
    assert not set(compliant) & read
    lines = event_lines(d.log(), f"BUILDER_NAME={held}")
    assert any("REASON=held" in line and "migrating the ERP client" in line for line in lines)
    plan = json.loads(run(["-c", str(cfg), "plan", "--json"], env_of(fake, tmp_path)).stdout)
    assert {b["name"]: b["decision"] for b in plan["builders"]}[free] == "compliant"

    fake.untag(held, HOLD)
    wait_until(lambda: updated(fake, held), timeout=30, what="the builder updated once free")
    assert len(accepted(fake, "StopImageBuilder", held)) == 1
    assert d.stop() == 0


def test_a_held_builder_gives_its_slot_to_the_next_in_line_in_the_same_pass(fake, tmp_path):
    fake.config(durations=FAST)
    first, second = fake.generate(2, prefix="a-", version=OLDER_THAN_ALL)
    (third,) = fake.generate(1, prefix="b-", version=OLD)
    fake.tag(first, {HOLD: ""})
    fake.tag(second, {HOLD: "2099-01-01T00:00:00Z"})
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 1})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert updated(fake, third)
    assert [c["names"][0] for c in fake.calls("StopImageBuilder")] == [third]
    # The oldest go first: each read once in the first pass, then the third's.
    reads = [c["names"][0] for c in fake.calls("ListTagsForResource")]
    assert reads[:3] == [first, second, third], reads
    first_stop = fake.calls("StopImageBuilder")[0]["time"]
    assert [c for c in fake.calls("DescribeImageBuilders") if c["time"] < first_stop][1:] == []


def test_a_dated_hold_holds_until_then_and_a_past_date_holds_nothing(fake, tmp_path):
    fake.config(durations=FAST)
    future, past, word = fake.generate(3, prefix="d-", version=OLD)
    fake.tag(future, {HOLD: "2099-12-24"})
    fake.tag(past, {HOLD: "2020-01-01T10:00:00+01:00"})
    fake.tag(word, {HOLD: "until friday"})
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert updated(fake, past)
    assert stops(fake, future) == [] and stops(fake, word) == []
    assert "until 2099-12-25 00:00 UTC" in once.stderr
    assert "(no end)" in once.stderr


def test_a_builder_whose_tags_cannot_be_read_is_never_stopped(fake, tmp_path):
    fake.config(durations=FAST)
    hidden, other = fake.generate(2, prefix="u-", version=OLD)
    fake.deny("ListTagsForResource", names=[hidden])
    cfg = base_config(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert updated(fake, other)
    assert stops(fake, hidden) == []
    assert calls_for(fake, "ListTagsForResource", hidden)
    errors = [line for line in once.stderr.splitlines()
              if line.startswith("error:") and "OPERATION=ListTagsForResource" in line]
    assert errors and "AccessDeniedException" in errors[0] and "AWS_REQUEST_ID=" in errors[0]
    assert f"cannot read the tags of builder {hidden}" in errors[0]


def test_hold_tag_none_reads_no_tag(fake, tmp_path):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="n-", version=OLD)
    fake.tag(name, {HOLD: "yes"})
    cfg = base_config(fake, tmp_path, policy={"hold_tag": "none"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert updated(fake, name)
    assert fake.calls("ListTagsForResource") == []


# ---- notices (I11) -------------------------------------------------------------------------


def notice_config(fake, tmp_path, notice="3s", **reconciler):
    command, out = recording_hook(tmp_path)
    cfg = base_config(fake, tmp_path,
                      reconciler={"poll_interval": "30s", "notify_command": command, **reconciler},
                      policy={"notice": notice})
    return cfg, out


def report(capsys, text):
    """A figure for the closing note, printed past pytest's capture."""
    with capsys.disabled():
        print(f"\n    [operators] {text}")


def test_the_notice_is_kept_to_the_second_and_the_hook_hears_of_it(fake, tmp_path, daemons,
                                                                     capsys):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="nt-", version=OLD)
    cfg, out = notice_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: recorded(out, "update-scheduled"), timeout=20, what="the announcement")
    wait_until(lambda: updated(fake, name), timeout=30, what="the update after the notice")
    (scheduled,) = recorded(out, "update-scheduled")
    assert scheduled["BUILDER_NAME"] == name
    assert scheduled["TARGET_VERSION"] == "latest" and scheduled["FROM_VERSION"] == OLD
    at = calendar.timegm(time.strptime(scheduled["AT"], "%Y-%m-%dT%H:%M:%SZ"))
    (stop,) = accepted(fake, "StopImageBuilder", name)
    # Never before the announced instant, to the second.
    assert stop["wall"] >= at, (stop["wall"], at)
    announced = [c for c in fake.calls("ListTagsForResource") if name in c["names"]]
    # Tags read at the announcement and again at its end.
    assert len(announced) == 2 and announced[1]["wall"] >= at
    report(capsys, f"notice 3s: announced at {scheduled['AT']}, Stop sent "
                   f"{stop['wall'] - at:+.2f} s after AT")
    wait_until(lambda: recorded(out, "update-succeeded"), timeout=20, what="update-succeeded")
    assert d.stop() == 0


def test_a_hold_set_during_the_notice_cancels_the_stop(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="nh-", version=OLD)
    cfg, out = notice_config(fake, tmp_path, notice="4s")
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: recorded(out, "update-scheduled"), timeout=20, what="the announcement")
    fake.tag(name, {HOLD: "demo at 10"})
    wait_until(lambda: recorded(out, "update-withdrawn"), timeout=20, what="the withdrawal")

    (withdrawn,) = recorded(out, "update-withdrawn")
    assert withdrawn["BUILDER_NAME"] == name and withdrawn["REASON"] == "held"
    assert "demo at 10" in withdrawn["MESSAGE"]
    assert stops(fake, name) == []
    assert len(calls_for(fake, "ListTagsForResource", name)) == 2
    assert d.stop() == 0
    assert json.loads(state_path(tmp_path).read_text()).get("notices", []) == []


def test_a_builder_made_compliant_during_the_notice_is_not_stopped(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="nc-", version=OLD)
    cfg, out = notice_config(fake, tmp_path, notice="4s")
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: recorded(out, "update-scheduled"), timeout=20, what="the announcement")
    fake.update_builder(name, AppstreamAgentVersion=latest(fake))
    wait_until(lambda: recorded(out, "update-withdrawn"), timeout=20, what="the withdrawal")

    assert recorded(out, "update-withdrawn")[0]["REASON"] == "compliant"
    assert stops(fake, name) == []
    assert fake.calls("StartImageBuilder") == []
    assert d.stop() == 0


def test_a_listing_that_leaves_the_builder_out_keeps_the_notice_and_a_deletion_ends_it(
        fake, tmp_path, daemons):
    fake.config(durations=FAST)
    kept, deleted = fake.generate(2, prefix="nl-", version=OLD)
    cfg, out = notice_config(fake, tmp_path, notice="5s", active_poll_interval="1s",
                             poll_interval="1s")
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: len(recorded(out, "update-scheduled")) == 2, timeout=20,
               what="two announcements")
    # Listings that leave a builder out now and then, and one builder deleted for good.
    fake.add_fault("drop", probability=0.5)
    fake.delete_builder(deleted)
    wait_until(lambda: recorded(out, "update-withdrawn"), timeout=20, what="the withdrawal")
    wait_until(lambda: updated(fake, kept), timeout=40, what="the kept builder updated")

    (withdrawn,) = recorded(out, "update-withdrawn")
    assert withdrawn["BUILDER_NAME"] == deleted and withdrawn["REASON"] == "gone"
    assert [e["BUILDER_NAME"] for e in recorded(out, "update-scheduled")].count(kept) == 1
    assert d.stop() == 0


def test_an_announcement_survives_a_restart_with_its_instant(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="nr-", version=OLD)
    cfg, out = notice_config(fake, tmp_path, notice="5s")
    env = env_of(fake, tmp_path)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: recorded(out, "update-scheduled"), timeout=20, what="the announcement")
    assert d.stop() == 0
    notices = json.loads(state_path(tmp_path).read_text())["notices"]
    assert [n["builder"] for n in notices] == [name]
    status = run(["-c", str(cfg), "status"], env)
    assert "Updates announced: 1" in status.stdout and name in status.stdout, status.stdout

    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: updated(fake, name), timeout=30, what="the update")
    (stop,) = accepted(fake, "StopImageBuilder", name)
    assert stop["wall"] >= notices[0]["at"]
    assert len(recorded(out, "update-scheduled")) == 1  # not announced twice
    assert d.stop() == 0


# ---- pause and resume ----------------------------------------------------------------------


def test_pause_while_run_is_updating_stops_new_updates_and_lets_in_flight_ones_finish(
        fake, tmp_path, daemons, capsys):
    fake.config(durations={"stopping": 2.0, "pending": 1.0, "updating_agent": 1.0})
    names = fake.generate(5, prefix="p-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    env = env_of(fake, tmp_path)
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: len(fake.calls("StopImageBuilder")) == 2, timeout=20,
               what="two updates in flight")
    in_flight = {n for c in fake.calls("StopImageBuilder") for n in c["names"]}

    paused = run(["-c", str(cfg), "pause", "--for", "1h", "--reason", "quarter close"], env)
    assert paused.returncode == 0, paused.stderr
    pause_time = time.time()

    # The two in flight finish (I3); nothing else is stopped.
    wait_until(lambda: all(updated(fake, n) for n in in_flight), timeout=30,
               what="the updates in flight finished")
    polls = len(fake.calls("DescribeImageBuilders"))
    wait_until(lambda: len(fake.calls("DescribeImageBuilders")) >= polls + 3, timeout=20,
               what="three more passes")
    later = [c for c in fake.calls("StopImageBuilder") if c["wall"] > pause_time + 1.5]
    assert later == []
    last_stop = max(c["wall"] for c in fake.calls("StopImageBuilder"))
    report(capsys, f"pause during updates: last Stop {last_stop - pause_time:+.2f} s from the "
                   f"pause command; 2 in flight finished, 3 held back")
    assert len(fake.calls("StopImageBuilder")) == 2
    status = run(["-c", str(cfg), "status", "--json"], env)
    pauses = json.loads(status.stdout)["pauses"]
    assert [p["glob"] for p in pauses] == ["*"] and pauses[0]["reason"] == "quarter close"
    assert pauses[0]["until"] is not None
    plan = json.loads(run(["-c", str(cfg), "plan", "--json"], env).stdout)
    waiting = {b["name"]: b for b in plan["builders"]}
    rest = sorted(set(names) - in_flight)
    assert all(waiting[n]["decision"] == "paused" for n in rest)
    assert "quarter close" in waiting[rest[0]]["reason"]

    assert run(["-c", str(cfg), "resume"], env).returncode == 0
    wait_until(lambda: all(updated(fake, n) for n in names), timeout=60,
               what="every builder updated after resume")
    assert d.stop() == 0


def test_a_pause_of_some_builders_that_expires_ends_by_itself(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    kept, other = fake.generate(2, prefix="e-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    env = env_of(fake, tmp_path)
    assert run(["-c", str(cfg), "pause", "--for", "4s", kept], env).returncode == 0
    started = time.time()
    d = start_daemon(daemons, cfg, env, tmp_path)

    wait_until(lambda: updated(fake, other), timeout=30, what="the other builder")
    wait_until(lambda: updated(fake, kept), timeout=30, what="the paused one, later")
    (stop,) = accepted(fake, "StopImageBuilder", kept)
    assert stop["wall"] >= started + 4 - 1
    assert any(f"BUILDER_NAME={kept}" in line and "REASON=paused" in line
               for line in d.log().splitlines())
    assert d.stop() == 0


def test_an_unreadable_pause_file_pauses_everything(fake, tmp_path):
    fake.config(durations=FAST)
    (name,) = fake.generate(1, prefix="bad-", version=OLD)
    cfg = base_config(fake, tmp_path)
    (tmp_path / "state" / "state.pauses.json").write_text("{ not json")

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert stops(fake, name) == []
    assert "every builder counts as paused" in once.stderr


# ---- running = skip ------------------------------------------------------------------------


def test_running_skip_touches_only_stopped_builders(fake, tmp_path):
    fake.config(durations=FAST)
    running = fake.generate(2, prefix="r-", version=OLD)
    stopped = fake.generate(2, prefix="s-", version=OLD, state="STOPPED")
    cfg = base_config(fake, tmp_path, policy={"running": "skip", "stopped": "update"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert fake.calls("StopImageBuilder") == []
    assert sorted(n for c in accepted(fake, "StartImageBuilder") for n in c["names"]) == stopped
    for n in running:
        assert fake.builder(n)["AppstreamAgentVersion"] == OLD
    plan = json.loads(run(["-c", str(cfg), "plan", "--json"], env_of(fake, tmp_path)).stdout)
    assert {b["name"]: b["decision"] for b in plan["builders"]}[running[0]] == "running-skip"


# ---- ramp and settle -----------------------------------------------------------------------


def in_flight_profile(log):
    """(in flight after each update-started or finish, in order) from the daemon's lines."""
    flying, profile = 0, []
    for line in log.splitlines():
        if "starting agent update of builder" in line:
            flying += 1
            profile.append(("start", flying))
        elif re.search(r"builder \S+ updated: agent|update of builder \S+ failed", line):
            flying -= 1
            profile.append(("done", flying))
    return profile


def test_ramp_goes_one_then_two_then_four(fake, tmp_path, capsys):
    fake.config(durations={"stopping": 0.5, "pending": 0.5, "updating_agent": 0.5})
    fake.generate(9, prefix="rp-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 8},
                      policy={"ramp": "1, 2, 4"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=120)

    assert once.returncode == 0, once.stderr
    profile = in_flight_profile(once.stderr)
    successes, peak = 0, {0: 0, 1: 0, 2: 0}
    for kind, flying in profile:
        step = 0 if successes < 1 else 1 if successes < 3 else 2
        if kind == "done":
            successes += 1
        else:
            peak[step] = max(peak[step], flying)
    assert peak == {0: 1, 1: 2, 2: 4}, (peak, profile)
    report(capsys, "ramp 1, 2, 4 over 9 builders: in flight after each start "
                   + " ".join(str(f) for k, f in profile if k == "start"))


def test_a_failure_holds_the_ramp(fake, tmp_path):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    fake.add_builders({"Name": "rf-01", "AppstreamAgentVersion": OLD,
                       "update_does_not_take": True})
    fake.generate(5, prefix="rf-", version=OLD, first=2)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 8, "max_failures": 5},
                      policy={"ramp": "1, 4"})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=120)

    assert once.returncode == 1, once.stderr
    profile = in_flight_profile(once.stderr)
    # rf-01, the oldest by name among equals, goes first and fails: one at a time after it.
    assert "update of builder rf-01 failed" in once.stderr
    assert max(f for _, f in profile) == 1, profile
    assert all(updated(fake, f"rf-0{i}") for i in range(2, 7))


def test_a_failure_inside_settle_is_a_failed_update_that_counts(fake, tmp_path, daemons):
    fake.config(durations=FAST)
    first, second = fake.generate(2, prefix="st-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 1, "max_failures": 1,
                                                  "poll_interval": "1s"},
                      policy={"settle": "30s"})
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    wait_until(lambda: "settling for 30s" in d.log(), timeout=30, what="settling")
    settling, other = first, second  # max_concurrent 1: the first by name goes first
    assert accepted(fake, "StartImageBuilder", settling) and not stops(fake, other)
    fake.set_state(settling, "STOPPED")  # someone stops it inside settle
    wait_until(lambda: "did not settle" in d.log(), timeout=20, what="the failed settle")
    wait_until(lambda: "circuit breaker open" in d.log() or "max_failures reached" in d.log(),
               timeout=20, what="the breaker")
    assert stops(fake, other) == []
    assert json.loads(state_path(tmp_path).read_text())["failures"][0]["builder"] == settling
    assert d.stop() == 0


# ---- denied --------------------------------------------------------------------------------


def test_three_denied_stops_do_not_open_the_breaker(fake, tmp_path):
    fake.config(durations=FAST)
    protected = fake.generate(3, prefix="dn-", version=OLD)
    (free,) = fake.generate(1, prefix="ok-", version=OLDER_THAN_ALL)
    for n in protected:
        fake.tag(n, {"team": "finance"})
    fake.deny("StopImageBuilder", tag_key="team", tag_value="finance")
    command, out = recording_hook(tmp_path)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 3, "max_failures": 1,
                                                  "notify_command": command})

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))

    assert once.returncode == 0, once.stderr
    assert updated(fake, free)
    assert "breaker" not in once.stderr.lower()
    denied = [line for line in once.stderr.splitlines() if "IAM denied" in line]
    assert len(denied) == 3 and all(line.startswith("error:") for line in denied)
    for n in protected:
        arn = fake.builder(n)["Arn"]
        assert any(f"appstream:StopImageBuilder on {arn}" in line for line in denied)
        assert fake.builder(n)["State"] == "RUNNING"
    assert sorted(e["BUILDER_NAME"] for e in recorded(out, "update-denied")) == protected
    state = json.loads(state_path(tmp_path).read_text())
    assert state["failures"] == []
    assert {b["builder"]: b.get("denied") for b in state["backoff"]} == {
        n: "StopImageBuilder" for n in protected}
    plan = json.loads(run(["-c", str(cfg), "plan", "--json"], env_of(fake, tmp_path)).stdout)
    assert {b["name"]: b["decision"] for b in plan["builders"]}[protected[0]] == "denied"
    # Asked once each, not again every pass.
    again = run(["-c", str(cfg), "once"], env_of(fake, tmp_path))
    assert again.returncode == 0
    assert len(fake.calls("StopImageBuilder")) == 4


OLDER_THAN_ALL = "12-06-2017"
