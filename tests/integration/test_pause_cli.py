"""`pause` and `resume` end to end: the pause file beside the state file (private, given to
the state directory's owner, never the state file itself, corrupt ones moved aside), who
asked, why and until when as `status` and `plan` show them, pauses that end by themselves,
and the refusals: a glob no pause has (exit 1) and usage errors (exit 2)."""

import datetime
import json
import os
import pwd
import re
import time

import pytest

from reconciler import base_config, env_of, run, start_daemon, state_path, wait_until

EMPTY_STATE = '{"format": 1, "operations": [], "backoff": [], "failures": [], "history": []}'
ISO = "%Y-%m-%dT%H:%M:%SZ"


def pause_path(tmp_path):
    """Where the pause file of base_config()'s state file lives."""
    return tmp_path / "state" / "state.pauses.json"


def pauses_on_disk(tmp_path):
    """{glob: pause} as the pause file holds them."""
    document = json.loads(pause_path(tmp_path).read_text())
    assert document["format"] == 1
    return {p["glob"]: p for p in document["pauses"]}


def cli(cfg, env, *args):
    return run(["-c", str(cfg), *args], env)


def mode(path):
    return os.stat(path).st_mode & 0o7777


def iso(text):
    return datetime.datetime.strptime(text, ISO).replace(tzinfo=datetime.timezone.utc)


@pytest.fixture
def setup(fake, tmp_path):
    """A configuration aimed at the fake and the environment to run commands in; SUDO_USER is
    removed, so that who asked is the user running the command unless a test says otherwise."""
    env = env_of(fake, tmp_path)
    env.pop("SUDO_USER", None)
    return base_config(fake, tmp_path), env


def status_json(cfg, env):
    done = cli(cfg, env, "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# ---- pause and resume -------------------------------------------------------------------------


def test_pause_and_resume_round_trip(setup, tmp_path):
    cfg, env = setup
    me = pwd.getpwuid(os.getuid()).pw_name

    everyone = cli(cfg, env, "pause")
    assert everyone.returncode == 0, everyone.stderr
    some = cli(cfg, env, "pause", "--for", "2h", "--reason", "migrating apps", "ws-*", "lab-?")
    assert some.returncode == 0, some.stderr

    # One line per pause, saying who, until when and why.
    assert everyone.stdout == f"*: paused by {me} (no end)\n"
    lines = some.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["ws-*", "lab-?"]
    assert all(" until " in line and line.endswith(": migrating apps") for line in lines)
    on_disk = pauses_on_disk(tmp_path)
    assert sorted(on_disk) == ["*", "lab-?", "ws-*"]
    assert on_disk["*"]["until"] is None and on_disk["*"]["reason"] is None
    assert on_disk["ws-*"]["until"] - on_disk["ws-*"]["since"] == 7200
    assert on_disk["ws-*"]["reason"] == "migrating apps"
    assert abs(on_disk["ws-*"]["since"] - time.time()) < 60
    assert {p["who"] for p in on_disk.values()} == {me}

    # Pausing a glob again replaces its pause.
    again = cli(cfg, env, "pause", "ws-*")
    assert again.returncode == 0, again.stderr
    assert "replaces the pause by" in again.stdout
    on_disk = pauses_on_disk(tmp_path)
    assert len(on_disk) == 3 and on_disk["ws-*"]["until"] is None
    assert on_disk["ws-*"]["reason"] is None

    one = cli(cfg, env, "resume", "ws-*")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("ws-*: resumed (was paused by ")
    assert sorted(pauses_on_disk(tmp_path)) == ["*", "lab-?"]

    rest = cli(cfg, env, "resume")
    assert rest.returncode == 0, rest.stderr
    assert sorted(line.split(":")[0] for line in rest.stdout.splitlines()) == ["*", "lab-?"]
    assert pauses_on_disk(tmp_path) == {}
    nothing = cli(cfg, env, "resume")
    assert nothing.returncode == 0 and nothing.stdout == "no pauses to resume\n"


def test_files_are_private_and_the_state_file_is_never_written(setup, tmp_path):
    cfg, env = setup
    state = state_path(tmp_path)
    state.write_text(EMPTY_STATE)
    state.chmod(0o600)
    past = time.time_ns() - 3_600_000_000_000
    os.utime(state, ns=(past, past))
    before = os.stat(state)
    old_umask = os.umask(0)
    try:
        for args in (["pause", "--reason", "r", "a-*"], ["pause", "b-*"], ["resume", "a-*"],
                     ["resume"]):
            done = cli(cfg, env, *args)
            assert done.returncode == 0, done.stderr
    finally:
        os.umask(old_umask)

    after = os.stat(state)
    assert state.read_text() == EMPTY_STATE
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == \
        (before.st_ino, before.st_mtime_ns, before.st_size)
    assert mode(pause_path(tmp_path)) == 0o600
    assert mode(f"{pause_path(tmp_path)}.lock") == 0o600
    # Only the pause file and its lock were added beside the state file.
    assert sorted(p.name for p in state.parent.iterdir()) == \
        ["state.json", "state.pauses.json", "state.pauses.json.lock"]


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files away needs root")
def test_root_gives_the_files_to_the_state_directorys_owner(setup, tmp_path):
    cfg, env = setup
    os.chown(tmp_path / "state", 65534, 65534)

    done = cli(cfg, env, "pause")

    assert done.returncode == 0, done.stderr
    for path in (pause_path(tmp_path), f"{pause_path(tmp_path)}.lock"):
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (65534, 65534, 0o600), path


@pytest.mark.skipif(os.geteuid() != 0, reason="sudo's user counts only for root")
def test_who_is_the_user_behind_sudo(setup, tmp_path):
    cfg, env = setup

    done = cli(cfg, dict(env, SUDO_USER="alice"), "pause", "--reason", "exam week", "lab-*")

    assert done.returncode == 0, done.stderr
    assert done.stdout == "lab-*: paused by alice via sudo (no end): exam week\n"
    assert pauses_on_disk(tmp_path)["lab-*"]["who"] == "alice via sudo"


def test_resume_of_a_glob_no_pause_has_exits_1_and_names_the_pauses(setup, tmp_path):
    cfg, env = setup
    assert cli(cfg, env, "pause", "--reason", "exam week", "lab-*").returncode == 0
    assert cli(cfg, env, "pause", "ws-1").returncode == 0
    before = pause_path(tmp_path).read_bytes()

    # A builder's name is not the glob that paused it; nothing is resumed, not even ws-1.
    done = cli(cfg, env, "resume", "ws-1", "lab-1")

    assert done.returncode == 1, done.stderr
    assert "no pause has the glob 'lab-1'" in done.stderr
    assert "  lab-*: paused by " in done.stderr and ": exam week" in done.stderr
    assert "  ws-1: paused by " in done.stderr
    assert done.stdout == ""
    assert pause_path(tmp_path).read_bytes() == before

    pause_path(tmp_path).unlink()
    none = cli(cfg, env, "resume", "x")
    assert none.returncode == 1 and "there are no pauses" in none.stderr


def test_a_corrupt_pause_file_is_moved_aside_with_a_warning(setup, tmp_path):
    cfg, env = setup
    garbage = '{"format": 1, "pauses": [oops'
    pause_path(tmp_path).write_text(garbage)

    # The read-only commands report it and change nothing.
    status = cli(cfg, env, "status")
    assert status.returncode == 0, status.stderr
    assert re.search(rf"^Pauses: error: {re.escape(str(pause_path(tmp_path)))}: not valid JSON",
                     status.stdout, re.M), status.stdout
    assert "the daemon treats every builder as paused" in status.stdout
    as_json = status_json(cfg, env)
    assert as_json["pauses"] == [] and str(pause_path(tmp_path)) in as_json["pauses_error"]
    assert pause_path(tmp_path).read_text() == garbage

    done = cli(cfg, env, "pause", "ws-*")

    assert done.returncode == 0, done.stderr
    aside = list(pause_path(tmp_path).parent.glob("state.pauses.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == garbage
    assert re.fullmatch(r"state\.pauses\.json\.corrupt-\d+", aside[0].name)
    assert abs(int(aside[0].name.rsplit("-", 1)[1]) - time.time()) < 60
    assert done.stderr.startswith("warning: ")
    assert str(pause_path(tmp_path)) in done.stderr and str(aside[0]) in done.stderr
    assert sorted(pauses_on_disk(tmp_path)) == ["ws-*"]
    assert status_json(cfg, env)["pauses_error"] is None


def test_the_state_directory_is_never_made(fake, tmp_path):
    env = env_of(fake, tmp_path)
    missing = tmp_path / "nowhere"
    cfg = base_config(fake, tmp_path, reconciler={"state_file": str(missing / "state.json")})

    for args in (["pause"], ["resume"]):
        done = cli(cfg, env, *args)
        assert done.returncode == 2, done.stderr
        assert f"the state directory {missing} does not exist" in done.stderr
    assert not missing.exists()


def test_pause_works_while_the_daemon_runs(fake, setup, tmp_path, daemons):
    cfg, env = setup
    fake.generate(1, prefix="d-")
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: state_path(tmp_path).exists(), what="the daemon's state")

    done = cli(cfg, env, "pause", "--reason", "while it runs", "d-*")

    assert done.returncode == 0, done.stderr
    assert [p["reason"] for p in status_json(cfg, env)["pauses"]] == ["while it runs"]
    assert d.proc.poll() is None
    assert d.stop() == 0


# ---- status and plan ---------------------------------------------------------------------------


def test_status_shows_who_why_and_until(setup, tmp_path):
    cfg, env = setup
    assert cli(cfg, env, "pause", "--for", "2h", "--reason", "exam week", "lab-*").returncode == 0
    assert cli(cfg, env, "pause", "ws-*").returncode == 0
    on_disk = pauses_on_disk(tmp_path)

    table = cli(cfg, env, "status")

    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    start = lines.index("Pauses: 2")
    assert re.split(r"\s{2,}", lines[start + 1]) == ["GLOB", "BY", "SINCE", "UNTIL", "REASON"]
    lab = re.split(r"\s{2,}", lines[start + 2])
    ws = re.split(r"\s{2,}", lines[start + 3])
    assert lab[0] == "lab-*" and lab[1] == on_disk["lab-*"]["who"] and lab[4] == "exam week"
    assert re.search(r"\(in (2h00m|1h59m)\)$", lab[3]), lab
    assert ws[0] == "ws-*" and ws[3] == "until resumed" and ws[4] == "-"

    shown = {p["glob"]: p for p in status_json(cfg, env)["pauses"]}
    assert sorted(shown) == ["lab-*", "ws-*"]
    assert shown["lab-*"]["who"] == on_disk["lab-*"]["who"]
    assert shown["lab-*"]["reason"] == "exam week"
    assert iso(shown["lab-*"]["since"]).timestamp() == on_disk["lab-*"]["since"]
    assert iso(shown["lab-*"]["until"]).timestamp() == on_disk["lab-*"]["since"] + 7200
    assert shown["ws-*"]["until"] is None and shown["ws-*"]["reason"] is None


def test_status_without_pauses(setup):
    cfg, env = setup

    table = cli(cfg, env, "status")

    assert table.returncode == 0, table.stderr
    assert "Pauses: none" in table.stdout.splitlines()
    as_json = status_json(cfg, env)
    assert as_json["pauses"] == [] and as_json["pauses_error"] is None
    assert as_json["operations"] == []  # the state's own fields are still there


def test_a_pause_ends_by_itself(setup, tmp_path):
    cfg, env = setup
    now = int(time.time())
    # One that ended a while ago, as a file written earlier would hold it.
    pause_path(tmp_path).write_text(json.dumps({"format": 1, "pauses": [
        {"glob": "old-*", "who": "bob", "reason": "done", "since": now - 7200,
         "until": now - 60}]}))
    assert "old-*" not in cli(cfg, env, "status").stdout
    assert status_json(cfg, env)["pauses"] == []

    assert cli(cfg, env, "pause", "--for", "2s", "short-*").returncode == 0
    # Writing dropped the pause that had ended.
    assert sorted(pauses_on_disk(tmp_path)) == ["short-*"]
    assert [p["glob"] for p in status_json(cfg, env)["pauses"]] == ["short-*"]

    wait_until(lambda: status_json(cfg, env)["pauses"] == [], timeout=10, interval=0.2,
               what="the 2 s pause to end")
    table = cli(cfg, env, "status")
    assert "Pauses: none" in table.stdout and "short-*" not in table.stdout
    # Ended, it is nobody's to resume.
    assert cli(cfg, env, "resume", "short-*").returncode == 1


def test_plan_shows_the_pauses_above_its_table(fake, setup, tmp_path):
    cfg, env = setup
    fake.generate(2, prefix="pl-")
    assert cli(cfg, env, "pause", "--for", "1d", "--reason", "exam week", "pl-*").returncode == 0

    table = cli(cfg, env, "plan")
    as_json = cli(cfg, env, "plan", "--json")

    assert table.returncode == 0 and as_json.returncode == 0, table.stderr + as_json.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Pauses: 1"
    assert re.split(r"\s{2,}", lines[1]) == ["GLOB", "BY", "SINCE", "UNTIL", "REASON"]
    row = re.split(r"\s{2,}", lines[2])
    assert row[0] == "pl-*" and row[4] == "exam week" and re.search(r"\(in (1d0h|23h59m)\)$",
                                                                      row[3])
    assert lines[3] == "" and lines[4].startswith("NAME")
    plan = json.loads(as_json.stdout)
    assert [(p["glob"], p["reason"]) for p in plan["pauses"]] == [("pl-*", "exam week")]
    assert iso(plan["pauses"][0]["until"]) - iso(plan["pauses"][0]["since"]) == \
        datetime.timedelta(days=1)
    assert plan["pauses_error"] is None
    assert sorted(b["name"] for b in plan["builders"]) == ["pl-01", "pl-02"]

    assert cli(cfg, env, "resume").returncode == 0
    quiet = cli(cfg, env, "plan")
    assert quiet.stdout.splitlines()[0].startswith("NAME"), quiet.stdout


# ---- usage errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["pause", "--for", "soon"], "option '--for': 'soon' is not a duration"),
    (["pause", "--for", "0s"], "option '--for' must be longer than 0s"),
    (["pause", "--for", "0"], "option '--for': '0' is not a duration"),
    (["pause", "--for"], "option '--for' needs a value"),
    (["pause", "--bogus"], "unknown option '--bogus'"),
    (["pause", "--reason", ""], "option '--reason' must be one line of text"),
    (["pause", ""], "GLOB '' is empty"),
    (["resume", "--for", "1h"], "option '--for' is only for the pause command"),
    (["status", "--reason", "x"], "option '--reason' is only for the pause command"),
    (["status", "ws-*"], "unexpected argument 'ws-*'"),
    (["plan", "ws-*"], "unexpected argument 'ws-*'"),
])
def test_usage_errors_exit_2_and_change_nothing(setup, tmp_path, args, message):
    cfg, env = setup

    done = cli(cfg, env, *args)

    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert not pause_path(tmp_path).exists()


def test_help_lists_pause_and_resume(setup):
    cfg, env = setup

    done = cli(cfg, env, "--help")

    assert done.returncode == 0
    assert re.search(r"^  pause  ", done.stdout, re.M) and re.search(r"^  resume  ", done.stdout,
                                                                     re.M)
    assert "--for DURATION" in done.stdout and "--reason TEXT" in done.stdout
