"""What people see on a terminal: `list` and `plan` under a pseudo-terminal are coloured
(compliance green/red/yellow, decisions that act highlighted), NO_COLOR=1 turns the colour
off, the columns stay aligned on visible width either way, and `once` prints a progress line
after every pass on a terminal and none into a pipe."""

import os
import pty
import re
import select
import subprocess
import time

import pytest

from reconciler import BIN, base_config, client_env, run

OLD = "06-19-2023"
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
FAST = {"stopping": 0.2, "pending": 0.2, "updating_agent": 0.2}


def run_on_tty(args, env, timeout=30):
    """Runs the binary with its stdout on a pseudo-terminal (stderr to a pipe); returns
    (exit status, what the terminal showed with \\r\\n turned back into \\n, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([BIN, *args], env=env, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        status = proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    return status, shown.decode().replace("\r\n", "\n"), stderr


def strip(text):
    return ESCAPE.sub("", text)


def assert_aligned(text, header):
    """Every row's cell of every column starts at the header title's offset (visible
    characters), two blanks after the column before it."""
    lines = text.splitlines()
    starts = [lines[0].index(title) for title in header]
    for line in lines[1:]:
        for start in starts[1:]:
            assert line[start - 2:start] == "  " and line[start] != " ", \
                f"column at {start} misaligned: {line!r}"


@pytest.fixture
def fleet(fake):
    fake.generate(2, prefix="old-", version=OLD)
    fake.generate(1, prefix="current-")
    fake.add_builders({"Name": "weird-version-01", "AppstreamAgentVersion": "not-a-date"})
    return fake


def env_for(fake, tmp_path, **extra):
    """The isolated client environment, as a terminal session would have it."""
    env = client_env(fake, tmp_path / "home")
    env.pop("NO_COLOR", None)
    env.update(TERM="xterm-256color", **extra)
    return env


def test_list_on_a_terminal_is_coloured_and_aligned(fleet, tmp_path):
    config = str(base_config(fleet, tmp_path))
    status, shown, stderr = run_on_tty(["-c", config, "list"], env_for(fleet, tmp_path))
    assert status == 0, stderr

    assert "\x1b[1mNAME\x1b[0m" in shown
    assert "\x1b[32mcompliant\x1b[0m" in shown
    assert shown.count("\x1b[31mnon-compliant\x1b[0m") == 2
    assert "\x1b[33munknown\x1b[0m" in shown
    piped = run(["-c", config, "list"], env_for(fleet, tmp_path))
    assert piped.returncode == 0 and "\x1b" not in piped.stdout
    # Colour adds escapes only: what is visible is exactly the plain table, aligned.
    assert strip(shown) == piped.stdout
    assert_aligned(strip(shown), ["NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"])


def test_images_on_a_terminal_colour_compliance_in_both_views(fake, tmp_path):
    latest = fake.config()["latest_version"]
    fake.add_images({"Name": "img-old", "AppstreamAgentVersion": OLD},
                    {"Name": "img-new", "AppstreamAgentVersion": latest},
                    {"Name": "img-none", "AppstreamAgentVersion": None})
    fake.add_fleets({"Name": "on-old", "ImageName": "img-old", "capacity": 3},
                    {"Name": "on-public"})
    config = str(base_config(fake, tmp_path))
    views = {(): ["NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE", "CREATED", "FLEETS",
                  "BUILDERS"],
             ("--fleets",): ["FLEET", "STATE", "TYPE", "IMAGE", "AGENT", "COMPLIANCE",
                             "DESIRED", "RUNNING"]}
    for args, header in views.items():
        status, shown, stderr = run_on_tty(["-c", config, "images", *args],
                                           env_for(fake, tmp_path))
        assert status == 0, stderr
        assert "\x1b[31mnon-compliant\x1b[0m" in shown and "\x1b[33munknown\x1b[0m" in shown
        piped = run(["-c", config, "images", *args], env_for(fake, tmp_path))
        assert piped.returncode == 0 and "\x1b" not in piped.stdout
        assert strip(shown) == piped.stdout
        assert_aligned(strip(shown).split("\n\n")[0], header)
    assert "\x1b[32mcompliant\x1b[0m" in run_on_tty(["-c", config, "images"],
                                                    env_for(fake, tmp_path))[1]


def test_no_color_turns_colour_off_on_a_terminal(fleet, tmp_path):
    config = str(base_config(fleet, tmp_path))
    for command in ("list", "plan"):
        status, shown, stderr = run_on_tty(["-c", config, command],
                                           env_for(fleet, tmp_path, NO_COLOR="1"))
        assert status == 0, stderr
        assert "\x1b" not in shown, f"{command} coloured despite NO_COLOR=1"
        assert "non-compliant" in shown


def test_plan_on_a_terminal_highlights_what_acts(fleet, tmp_path):
    config = str(base_config(fleet, tmp_path))
    status, shown, stderr = run_on_tty(["-c", config, "plan"], env_for(fleet, tmp_path))
    assert status == 0, stderr

    # max_concurrent = 2: both old builders would be updated now.
    assert shown.count("\x1b[1;36mwould-update\x1b[0m") == 2
    assert shown.count("\x1b[1;36mold-0") == 2
    assert "\x1b[32mcompliant\x1b[0m" in shown
    assert "\x1b[33munknown-version\x1b[0m" in shown
    table = strip(shown).split("\n\n")[0]
    assert_aligned(table, ["NAME", "STATE", "AGENT", "COMPLIANCE", "DECISION", "NEXT WINDOW",
                           "REASON"])
    piped = run(["-c", config, "plan"], env_for(fleet, tmp_path))
    assert strip(shown) == piped.stdout


def test_plan_shows_the_next_window_local_and_relative(fleet, tmp_path):
    # A window that never includes now: it opens in a week's time at the latest.
    hour = (time.gmtime().tm_hour + 3) % 24
    config = str(base_config(fleet, tmp_path,
                             policy={"window": f"daily {hour:02d}:00-{hour:02d}:30 UTC"}))
    status, shown, stderr = run_on_tty(["-c", config, "plan"],
                                       env_for(fleet, tmp_path, TZ="UTC"))
    assert status == 0, stderr
    table = strip(shown).split("\n\n")[0]
    waiting = [line for line in table.splitlines() if line.startswith("old-")]
    assert len(waiting) == 2
    for line in waiting:
        assert re.search(rf" \d{{4}}-\d\d-\d\d {hour:02d}:00 UTC \(in \d+h\d\dm\) ", line), line
    assert_aligned(table, ["NAME", "STATE", "AGENT", "COMPLIANCE", "DECISION", "NEXT WINDOW",
                           "REASON"])


@pytest.mark.time_limit(90)
def test_once_prints_progress_on_a_terminal_only(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(2, prefix="old-", version=OLD)
    config = str(base_config(fake, tmp_path))
    status, shown, stderr = run_on_tty(["-c", config, "once"], env_for(fake, tmp_path),
                                       timeout=60)
    assert status == 0, stderr

    progress = re.findall(r"^\[\d\d:\d\d:\d\d\] (\d+)/(\d+) compliant, (\d+) updating, "
                          r"(\d+) waiting, next window (.*)$", shown, re.M)
    assert len(progress) >= 2, shown
    assert progress[0][:3] == ("0", "2", "2")  # the first pass starts both updates
    assert progress[-1][:4] == ("2", "2", "0", "0")
    assert all(p[4] == "none" for p in progress)  # `always` has no next opening
    # Into a pipe, stdout stays empty: the events are on stderr either way.
    fake.generate(1, prefix="later-", version=OLD)
    piped = run(["-c", config, "once"], env_for(fake, tmp_path))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == ""
