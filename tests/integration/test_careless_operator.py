"""What a careless operator can do to the files around the daemon, and what the daemon must do
about it (issue 12, points 6, 7 and 11): a lock file deleted under a running daemon, a second
daemon pointed at the same state through a symbolic link, lock and state files that are not
the daemon's own, FIFOs where files should be, a configuration file others may write, plain
http to a remote endpoint, a state file under /proc and a window that starts when it ends.

Every refusal is exit code 2 (usage or configuration) with a message naming the file and what
is wrong with it, and comes at once: each command runs under a short timeout, so one that
hangs on a FIFO fails the test instead of the run."""

import os
import pathlib
import stat

import pytest

from fake_appstream.control import Credentials
from reconciler import (accepted, base_config, client_env, env_of, phases, run, start_daemon,
                        max_overlap, state_path, wait_until, write_config)

OLD = "06-19-2023"
USAGE = 2
QUICK = 15  # seconds: every refusal here comes long before this
COMMANDS = ("status", "once", "run", "check-config")
A = Credentials("AKIDCARELESSFIRST001", "first/Secret+Key/0123456789abcdefEXAMPLE")
B = Credentials("AKIDCARELESSSECOND01", "second/Secret+Key/0123456789abcdefEXAMPLE")


def lock_path(tmp_path):
    return pathlib.Path(f"{state_path(tmp_path)}.lock")


def env_with(fake, tmp_path, credentials):
    """An environment whose calls the fake's log attributes to `credentials`."""
    return client_env(fake, tmp_path / "home", AWS_MAX_ATTEMPTS=1,
                      AWS_ACCESS_KEY_ID=credentials.access_key_id,
                      AWS_SECRET_ACCESS_KEY=credentials.secret_access_key)


def refused(result, *fragments):
    """Exit code 2 with every fragment on stderr."""
    assert result.returncode == USAGE, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def out_of_service(fake, durations):
    """Per builder: from the first accepted Stop to its return to RUNNING, which the fake
    schedules `pending + updating_agent` after the last accepted Start (simulation time)."""
    intervals = {}
    for c in accepted(fake, "StopImageBuilder"):
        intervals.setdefault(c["names"][0], [c["time"], None])
    for c in accepted(fake, "StartImageBuilder"):
        back = c["time"] + durations["pending"] + durations["updating_agent"]
        intervals[c["names"][0]][1] = back
    return intervals


# ---- point 6: two daemons on one state file (I2) ------------------------------------------


@pytest.mark.time_limit(120)
def test_a_daemon_whose_lock_file_is_removed_stops_before_its_next_call(fake, tmp_path,
                                                                       daemons):
    fake.set_credentials(A, B)
    durations = fake.config(durations={"stopping": 1.0, "pending": 1.0,
                                       "updating_agent": 1.0})["durations"]
    names = fake.generate(3, prefix="lk-", version=OLD)
    cfg = base_config(fake, tmp_path, reconciler={"max_concurrent": 1, "poll_interval": "1s"})
    first = start_daemon(daemons, cfg, env_with(fake, tmp_path, A), tmp_path)
    wait_until(lambda: accepted(fake, "StopImageBuilder"), timeout=30, what="the first Stop")
    assert len(phases(tmp_path)) == 1

    lock_path(tmp_path).unlink()
    second = start_daemon(daemons, cfg, env_with(fake, tmp_path, B), tmp_path)

    wait_until(lambda: first.proc.poll() is not None, timeout=30,
               what="the first daemon to stop")
    assert first.wait() == 1, first.log()
    # Removed, or by now replaced by the second daemon's fresh lock file.
    assert any(f"error: lock file {lock_path(tmp_path)} was {what}" in first.log()
               for what in ("removed", "replaced by another file")), first.log()
    assert "stopping without another call or write" in first.log()
    wait_until(lambda: all(b["State"] == "RUNNING" and b["AppstreamAgentVersion"] != OLD
                           for b in fake.builders()) and not phases(tmp_path),
               timeout=60, what="the second daemon to update every builder")
    assert second.proc.poll() is None, second.log()
    assert second.stop() == 0, second.log()

    calls = fake.calls()
    first_of_b = min(c["seq"] for c in calls if c["access_key_id"] == B.access_key_id)
    late = [(c["operation"], c["names"]) for c in calls
            if c["access_key_id"] == A.access_key_id and c["seq"] > first_of_b
            and c["operation"] in ("StopImageBuilder", "StartImageBuilder")]
    assert late == [], f"the first daemon acted after the second one started: {late}"
    intervals = out_of_service(fake, durations)
    assert sorted(intervals) == names and all(end for _, end in intervals.values()), intervals
    assert max_overlap(intervals) == 1, \
        f"two builders in flight with max_concurrent = 1: {intervals}"


@pytest.mark.parametrize("alias", ["directory", "file"])
def test_a_second_daemon_through_a_symlink_refuses_to_start(fake, tmp_path, daemons, alias):
    fake.generate(1, prefix="ln-")
    cfg = base_config(fake, tmp_path)
    env = env_of(fake, tmp_path)
    first = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: state_path(tmp_path).exists(), what="the first daemon's state")
    if alias == "directory":
        (tmp_path / "alias").symlink_to(tmp_path / "state")
        other = tmp_path / "alias" / "state.json"
    else:
        (tmp_path / "elsewhere").mkdir()
        other = tmp_path / "elsewhere" / "state.json"
        other.symlink_to(state_path(tmp_path))
    (tmp_path / "second").mkdir()
    cfg2 = base_config(fake, tmp_path / "second", reconciler={"state_file": str(other)})

    for command in ("once", "run"):
        second = run(["-c", str(cfg2), command], env, timeout=QUICK)
        refused(second, f"state file {state_path(tmp_path)} is in use by another process",
                f"lock {lock_path(tmp_path)} is held")
    assert not list((tmp_path / "second" / "state").iterdir())
    assert first.proc.poll() is None
    assert first.stop() == 0, first.log()


@pytest.mark.parametrize("kind", ["hard-linked", "another user's"])
def test_a_lock_file_that_is_not_ours_alone_is_refused_untouched(fake, tmp_path, kind):
    fake.generate(1, prefix="lf-")
    cfg = base_config(fake, tmp_path)
    lock = lock_path(tmp_path)
    if kind == "hard-linked":
        precious = tmp_path / "precious"
        precious.write_text("someone else's\n")
        precious.chmod(0o644)
        os.link(precious, lock)
        fragment = "has 2 hard links"
    else:
        lock.write_text("")
        lock.chmod(0o644)
        os.chown(lock, 65534, 65534)
        fragment = "is owned by uid 65534"
    before = lock.stat()

    for command in ("once", "run"):
        result = run(["-c", str(cfg), command], env_of(fake, tmp_path), timeout=QUICK)
        refused(result, f"lock file {lock}", fragment, "refusing to use it")
    after = lock.stat()
    assert (stat.S_IMODE(after.st_mode), after.st_uid, after.st_nlink) == \
        (0o644, before.st_uid, before.st_nlink)
    assert not state_path(tmp_path).exists()
    assert not fake.calls()


# ---- point 7: nothing the daemon opens may block ------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_at_the_state_path_is_refused_at_once(fake, tmp_path, command):
    cfg = base_config(fake, tmp_path)
    os.mkfifo(state_path(tmp_path))

    result = run(["-c", str(cfg), command], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"state file {state_path(tmp_path)} is a FIFO, not a regular file")
    assert stat.S_ISFIFO(state_path(tmp_path).stat().st_mode)
    assert not fake.calls()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_fifo_at_the_config_path_is_refused_at_once(fake, tmp_path, command):
    cfg = tmp_path / "reconciler.conf"
    os.mkfifo(cfg)

    result = run(["-c", str(cfg), command], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"{cfg}: cannot read: Is a FIFO, not a regular file")


@pytest.mark.parametrize("command", COMMANDS)
def test_a_directory_at_the_state_path_is_refused_by_every_command(fake, tmp_path, command):
    cfg = base_config(fake, tmp_path)
    state_path(tmp_path).mkdir()

    result = run(["-c", str(cfg), command], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"state file {state_path(tmp_path)} is a directory, not a regular file")
    assert not fake.calls()


# ---- point 11: small hardening gaps -------------------------------------------------------


def test_a_state_file_with_a_loose_mode_is_made_private_with_a_warning(fake, tmp_path):
    fake.generate(1, prefix="md-")
    cfg = base_config(fake, tmp_path)
    state_path(tmp_path).write_text('{"format": 1}')
    state_path(tmp_path).chmod(0o644)

    result = run(["-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=60)

    assert result.returncode == 0, result.stderr
    assert f"warning: state file {state_path(tmp_path)} had mode 0644; changed it to 0600" in \
        result.stderr
    assert stat.S_IMODE(state_path(tmp_path).stat().st_mode) == 0o600


def test_a_state_file_of_another_user_is_refused_untouched(fake, tmp_path):
    fake.generate(1, prefix="ow-", version=OLD)
    cfg = base_config(fake, tmp_path)
    text = '{"format": 1}'
    state_path(tmp_path).write_text(text)
    os.chown(state_path(tmp_path), 65534, 65534)

    result = run(["-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"state file {state_path(tmp_path)} is owned by uid 65534")
    st = state_path(tmp_path).stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (65534, 0o644)
    assert state_path(tmp_path).read_text() == text
    assert not fake.calls()
    # The read-only commands need not own it.
    status = run(["-c", str(cfg), "status"], env_of(fake, tmp_path), timeout=QUICK)
    assert status.returncode == 0, status.stderr


@pytest.mark.parametrize("mode", [0o664, 0o646])
@pytest.mark.parametrize("command", ["check-config", "once"])
def test_a_config_file_others_may_write_is_refused(fake, tmp_path, mode, command):
    cfg = base_config(fake, tmp_path)
    cfg.chmod(mode)

    result = run(["-c", str(cfg), command], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"{cfg}: writable by group or others (mode {mode:04o})")
    assert not fake.calls()


def test_plain_http_to_a_remote_endpoint_in_the_file_is_a_config_error(fake, tmp_path):
    cfg = base_config(fake, tmp_path)
    write_config(cfg, {"aws": {"region": fake.region, "endpoint": "http://appstream.invalid"},
                       "policy": {"window": "always"}})

    result = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"{cfg}:3: plain http is allowed only to loopback",
            "'http://appstream.invalid'")


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_APPSTREAM", "AWS_ENDPOINT_URL"])
def test_plain_http_to_a_remote_endpoint_in_the_environment_is_refused(fake, tmp_path,
                                                                       variable):
    cfg = tmp_path / "reconciler.conf"
    write_config(cfg, {"aws": {"region": fake.region},
                       "reconciler": {"state_file": str(tmp_path / "state.json")},
                       "policy": {"window": "always"}})
    env = env_of(fake, tmp_path, AWS_ENDPOINT_URL_APPSTREAM=None, AWS_ENDPOINT_URL=None)
    env[variable] = "http://appstream.invalid:8080/"

    result = run(["-c", str(cfg), "list"], env, timeout=QUICK)

    refused(result, f"{variable} is refused: plain http is allowed only to loopback",
            "'http://appstream.invalid:8080/'")


@pytest.mark.parametrize("where", ["directory", "/proc"])
def test_check_config_refuses_a_state_file_start_up_would_refuse(fake, tmp_path, where):
    if where == "directory":
        state = state_path(tmp_path)
        cfg = base_config(fake, tmp_path)
        state.mkdir()
        fragment = f"state file {state} is a directory, not a regular file"
    else:
        state = "/proc/self/state.json"
        cfg = base_config(fake, tmp_path, reconciler={"state_file": state})
        fragment = f"state file {state} (resolved: "
    env = env_of(fake, tmp_path)

    check = run(["-c", str(cfg), "check-config"], env, timeout=QUICK)
    start = run(["-c", str(cfg), "once"], env, timeout=QUICK)

    refused(check, f"{cfg}: bad state_file: {fragment}")
    refused(start, fragment)
    if where == "/proc":
        assert "is under /proc" in check.stderr and "is under /proc" in start.stderr
    assert not fake.calls()


def test_a_window_that_starts_when_it_ends_is_a_config_error(fake, tmp_path):
    cfg = base_config(fake, tmp_path, policy={"window": "Sat 02:00-02:00 UTC"})
    line = cfg.read_text().splitlines().index("window = Sat 02:00-02:00 UTC") + 1

    result = run(["-c", str(cfg), "check-config"], env_of(fake, tmp_path), timeout=QUICK)

    refused(result, f"{cfg}:{line}: bad window (a window cannot start when it ends",
            "for a whole day write 00:00-24:00", "'Sat 02:00-02:00 UTC'")
