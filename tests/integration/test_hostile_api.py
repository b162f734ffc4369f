"""Promises kept when the AppStream API answers wrongly: a listing that cannot be the whole
truth is not acted on at all, a listing that would never end fails within a few requests,
entries that cannot be image builders are never acted on and logged once, and a version
from the future never makes the rest of the fleet look old. Judged from the fake's call log
and the daemon's stderr; the real binary runs against the fake AppStream."""

import json
import subprocess

import pytest

from reconciler import (FAST, PLAIN_BIN, base_config, env_of, read_state, run, start_daemon,
                        state_path, wait_until)

OLD = "06-19-2023"
LATEST = "09-05-2025"  # the fake's default latest agent
FUTURE = "12-31-2099"
UNREACHABLE = 3
# Requests one describe pass may make before it gives up on a listing that never ends: ten
# empty pages in a row, and a few to spare.
MAX_PAGES_PER_PASS = 15


def mutating_calls(fake):
    return [c for c in fake.calls() if c["operation"] in ("StopImageBuilder",
                                                         "StartImageBuilder")]


def describes(fake):
    return len(fake.calls("DescribeImageBuilders"))


def wait_for_passes(fake, n, timeout=30.0):
    """Waits until n more DescribeImageBuilders requests have been made."""
    before = describes(fake)
    wait_until(lambda: describes(fake) >= before + n, timeout=timeout,
               what=f"{n} more DescribeImageBuilders requests")


def fast_config(fake, tmp_path, **reconciler):
    return base_config(fake, tmp_path, reconciler={"poll_interval": "1s", **reconciler})


def list_json(fake, tmp_path, cfg):
    listed = run(["-c", str(cfg), "--json", "list"], env_of(fake, tmp_path))
    assert listed.returncode == 0, listed.stderr
    return {b["name"]: b for b in json.loads(listed.stdout)["builders"]}, listed.stderr


# ---- a version from the future (issue 12, point 3) -------------------------------------


def test_a_version_from_the_future_never_becomes_the_newest_seen(fake, tmp_path, daemons):
    """Without LatestAppstreamAgentVersion, one builder reporting 12-31-2099 used to become
    the newest version seen, for ever: every up-to-date builder was restarted and failed."""
    fake.config(omit_latest_flag=True, durations=FAST)
    current = fake.generate(3, prefix="current-", version=LATEST)
    fake.add_builders({"Name": "future-1", "AppstreamAgentVersion": FUTURE})
    cfg = fast_config(fake, tmp_path)

    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_for_passes(fake, 4)
    assert d.stop() == 0

    assert mutating_calls(fake) == []
    assert read_state(tmp_path)["newest_seen"] == LATEST
    unknown = [line for line in d.log().splitlines() if "builder future-1:" in line]
    assert len(unknown) == 1, d.log()
    assert f"agent version {FUTURE} is dated more than 2 days after today (UTC)" in unknown[0]
    assert "REASON=unknown-version" in unknown[0]
    listed, _ = list_json(fake, tmp_path, cfg)
    assert listed["future-1"]["compliance"] == "unknown"
    assert {listed[n]["compliance"] for n in current} == {"compliant"}


def test_a_newest_seen_from_the_future_in_the_state_file_is_forgotten(fake, tmp_path, daemons):
    """A state file written by an older daemon that remembered 12-31-2099: the version is
    dropped with a warning and learnt again from the fleet; nobody is restarted for it."""
    fake.config(omit_latest_flag=True, durations=FAST)
    fake.generate(3, prefix="current-", version=LATEST)
    cfg = fast_config(fake, tmp_path)
    state_path(tmp_path).write_text(json.dumps({
        "format": 1, "newest_seen": FUTURE, "operations": [], "backoff": [], "failures": [],
        "history": []}))

    listed, stderr = list_json(fake, tmp_path, cfg)
    assert {b["compliance"] for b in listed.values()} == {"compliant"}
    assert f"forgetting the newest agent seen, {FUTURE}" in stderr
    assert json.loads(state_path(tmp_path).read_text())["newest_seen"] == FUTURE  # read-only

    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_for_passes(fake, 3)
    assert d.stop() == 0
    assert mutating_calls(fake) == []
    assert read_state(tmp_path)["newest_seen"] == LATEST
    forgotten = [line for line in d.log().splitlines() if "forgetting the newest agent" in line]
    assert len(forgotten) == 1 and forgotten[0].startswith("warning: "), d.log()


# ---- a builder listed twice (point 4b) -----------------------------------------------------


def test_a_listing_that_names_a_builder_twice_is_not_acted_on(fake, tmp_path, daemons):
    """A stale copy of a builder on a later page made the daemon stop and start it over and
    over, and `once` never ended. Such a listing fails as a whole; once the API answers
    properly again, the daemon goes on."""
    fake.config(page_size=2, durations=FAST)
    names = fake.generate(5, prefix="ib-", version=OLD)
    fake.add_fault("duplicate", probability=1,
                   members={"State": "RUNNING", "AppstreamAgentVersion": OLD})
    cfg = fast_config(fake, tmp_path)
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env, timeout=30)
    assert once.returncode == UNREACHABLE, once.stderr
    assert mutating_calls(fake) == []
    errors = [line for line in once.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, once.stderr
    assert "DescribeImageBuilders failed: InvalidResponse" in errors[0]
    assert f"image builder '{names[0]}' is listed twice" in errors[0]
    assert "AWS_ERROR_CODE=InvalidResponse" in errors[0]

    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_for_passes(fake, 6)
    assert mutating_calls(fake) == []
    fake.clear_faults()
    wait_until(lambda: mutating_calls(fake), what="an update once the listing is sound")
    assert d.stop() == 0


# ---- listings that never end (point 8) ---------------------------------------------------


@pytest.mark.parametrize("fault, reason", [
    ("repeat_token", "hands back the NextToken of page 1: the listing would never end"),
    ("empty_pages", "10 pages in a row held no image builder but a NextToken"),
])
def test_a_listing_that_never_ends_fails_within_a_few_requests(fake, tmp_path, daemons, fault,
                                                                reason):
    """A NextToken that comes back, or empty pages that keep handing out tokens, were followed
    up to 10,000 pages: minutes of requests and no output. The pass now fails at the first
    repeated token or the tenth empty page in a row, naming the operation."""
    fake.config(page_size=2, durations=FAST)
    fake.generate(5, prefix="ib-", version=OLD)
    fake.add_fault(fault, probability=1)
    cfg = fast_config(fake, tmp_path)
    env = env_of(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env, timeout=30)
    assert once.returncode == UNREACHABLE, once.stderr
    assert describes(fake) <= MAX_PAGES_PER_PASS
    errors = [line for line in once.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, once.stderr
    assert "DescribeImageBuilders failed: InvalidResponse" in errors[0]
    assert reason in errors[0]
    assert mutating_calls(fake) == []

    fake.clear_calls()
    d = start_daemon(daemons, cfg, env, tmp_path)
    wait_until(lambda: d.log().count("cannot describe image builders") >= 3,
               what="three failed passes")
    failed_passes = d.log().count("cannot describe image builders")
    # The pass under way may have begun its pages too.
    assert describes(fake) <= MAX_PAGES_PER_PASS * (failed_passes + 1)
    assert mutating_calls(fake) == []
    fake.clear_faults()
    wait_until(lambda: mutating_calls(fake), what="an update once the listing ends again")
    assert d.stop() == 0


def test_a_few_empty_pages_are_followed(fake, tmp_path):
    """Fewer than ten empty pages in a row are a slow listing, not a broken one."""
    fake.config(page_size=2, durations=FAST)
    fake.generate(5, prefix="ib-")
    fake.add_fault("empty_pages", count=9)
    cfg = fast_config(fake, tmp_path)

    once = run(["-c", str(cfg), "once"], env_of(fake, tmp_path), timeout=30)
    assert once.returncode == 0, once.stderr
    assert describes(fake) == 9 + 3


# ---- names outside AppStream's rules (point 10) -----------------------------------------

INVALID = {
    "": '""',
    "x" * 1_000_000: '"' + "x" * 100 + '..." (1000000 bytes)',
    "bad\nname": '"bad\\nname"',
    "bad\x1bname": '"bad\\x1bname"',
    "-leadingdash": '"-leadingdash"',
}


def test_entries_whose_names_are_not_builder_names_are_never_acted_on(fake, tmp_path, daemons):
    """Empty names, names of a million characters and names with control characters became
    Stop calls, and the long one filled stderr with 32 MB in 30 s. Such entries are left out
    of everything, each logged once with its name cut and escaped."""
    fake.config(durations=FAST)
    valid = set(fake.generate(3, prefix="ib-", version=OLD))
    for name in INVALID:
        spec = {"Name": name, "AppstreamAgentVersion": OLD, "State": "RUNNING"}
        if len(name) > 1000:  # keep the fake's answers near the size of the name itself
            spec.update(DisplayName="huge", Description="huge",
                        Arn="arn:aws:appstream:us-east-1:123456789012:image-builder/huge")
        fake.add_builders(spec)
    cfg = fast_config(fake, tmp_path)

    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)
    wait_until(lambda: {n for c in mutating_calls(fake) if c["outcome"] == "OK"
                        for n in c["names"]} >= valid, what="every valid builder updated")
    wait_for_passes(fake, 5)
    assert d.stop() == 0

    acted_on = {n for c in mutating_calls(fake) for n in c["names"]}
    assert acted_on == valid
    assert d.log_path.stat().st_size < 200_000
    lines = d.log().splitlines()
    assert max(len(line) for line in lines) < 2_000
    for shown in INVALID.values():
        said = [line for line in lines if f"listed an entry named {shown}" in line]
        assert len(said) == 1, (shown, d.log()[:5000])
        assert said[0].startswith("warning: ") and "OPERATION=DescribeImageBuilders" in said[0]

    listed, stderr = list_json(fake, tmp_path, cfg)
    assert set(listed) == valid
    assert stderr.count("listed an entry named") == len(INVALID)


def test_an_invalid_entry_is_logged_again_only_after_it_went_away(fake, tmp_path, daemons):
    fake.generate(1, prefix="ib-")
    fake.add_builders({"Name": "-bad"})
    cfg = fast_config(fake, tmp_path)
    d = start_daemon(daemons, cfg, env_of(fake, tmp_path), tmp_path)

    def said():
        return d.log().count('listed an entry named "-bad"')

    wait_for_passes(fake, 3)
    assert said() == 1
    fake.delete_builder("-bad")
    wait_for_passes(fake, 2)
    fake.add_builders({"Name": "-bad"})
    wait_for_passes(fake, 3)
    assert said() == 2, d.log()
    assert d.stop() == 0


# ---- under valgrind ---------------------------------------------------------------------

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite"]


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("fault", [None, "duplicate", "repeat_token", "empty_pages"])
def test_list_of_a_hostile_listing_is_clean_under_valgrind(fake, tmp_path, fault):
    """The paths that put entries aside and give up on a listing free what they built."""
    fake.config(page_size=2)
    valid = fake.generate(3, prefix="ib-", version=OLD)
    fake.add_builders(*({"Name": n} for n in ("", "bad\nname", "-x", "y" * 5000)))
    if fault:
        # The first builder by name is "", which is no builder: copy a real one.
        fake.add_fault(fault, probability=1,
                       **({"builder": valid[0]} if fault == "duplicate" else {}))
    cfg = fast_config(fake, tmp_path)

    result = subprocess.run([*VALGRIND, PLAIN_BIN, "-c", str(cfg), "--json", "list"],
                            env=env_of(fake, tmp_path), capture_output=True, text=True,
                            timeout=100)

    assert result.returncode != 99, result.stderr
    if fault:
        assert result.returncode == UNREACHABLE, result.stderr
    else:
        assert result.returncode == 0, result.stderr
        assert [b["name"] for b in json.loads(result.stdout)["builders"]] == valid
        assert result.stderr.count("listed an entry named") == 4
