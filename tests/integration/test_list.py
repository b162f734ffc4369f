"""`list` end to end against the fake AppStream over HTTPS: the table people read, the JSON
scripts read, and every page of a large fleet fetched exactly once, in order."""

import json

import pytest

from reconciler import base_config, client_env, run

OLD = "06-19-2023"
OLDER = "01-26-2023"
HEADER = ["NAME", "STATE", "AGENT", "LATEST", "COMPLIANCE"]


def _list(fake, tmp_path, *args, extra=None):
    config = base_config(fake, tmp_path, extra=extra)
    result = run(["-c", str(config), "list", *args], client_env(fake, tmp_path / "home"))
    assert result.returncode == 0, result.stderr
    return result


def _table(text):
    """The rows of an aligned table, after checking the alignment: every column starts at the
    header's offset on every line, columns are as wide as their widest cell plus exactly two
    spaces, and the last column is not padded."""
    lines = text.splitlines()
    starts = [lines[0].index(title) for title in HEADER]
    assert starts[0] == 0 and starts == sorted(starts)
    rows, slack = [], [[] for _ in HEADER[:-1]]
    for line in lines:
        assert line == line.rstrip(), f"trailing blanks: {line!r}"
        cells = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(line)
            chunk = line[start:end]
            cell = chunk.rstrip()
            assert cell and not cell.startswith(" ") and " " not in cell, \
                f"column {HEADER[i]} does not start at offset {start}: {line!r}"
            if i + 1 < len(starts):
                slack[i].append(len(chunk) - len(cell))
            cells.append(cell)
        rows.append(cells)
    assert all(min(gaps) == 2 for gaps in slack), slack
    assert rows[0] == HEADER
    return rows[1:]


# ---- a small fleet: every kind of builder the table and JSON must show -------------------

def _small_fleet(fake):
    latest = fake.config()["latest_version"]
    fake.add_builders(
        {"Name": "ws-current", "AppstreamAgentVersion": latest},
        {"Name": "ws-old", "AppstreamAgentVersion": OLD},
        {"Name": "lab-stopped", "State": "STOPPED", "AppstreamAgentVersion": OLDER},
        {"Name": "ws-noflag-old", "AppstreamAgentVersion": OLD, "omit_latest_flag": True},
        {"Name": "ws-noflag-new", "AppstreamAgentVersion": latest, "omit_latest_flag": True},
        {"Name": "lab-hibernating", "State": "HIBERNATING", "AppstreamAgentVersion": OLD},
        {"Name": "ws-noversion", "AppstreamAgentVersion": None},
        {"Name": "ws-garbled", "AppstreamAgentVersion": "version-7"},
        {"Name": "pinned-1", "AppstreamAgentVersion": OLD},
    )
    return latest


PINNED = {"builder pinned-*": {"target": OLDER}}


def _expected_small(latest, newest_in_state=None):
    """(name, state, agent, latest flag, compliance) of the small fleet, sorted by name, as
    SPEC's compliance rules make them: the flag decides when present; without it the version
    is compared with the newest one seen, on this listing or in the state file."""
    newest_new_ok = newest_in_state is None
    return [
        ("lab-hibernating", "HIBERNATING", OLD, False, "non-compliant"),
        ("lab-stopped", "STOPPED", OLDER, False, "non-compliant"),
        ("pinned-1", "RUNNING", OLD, False, "compliant"),  # target 01-26-2023 for pinned-*
        ("ws-current", "RUNNING", latest, True, "compliant"),
        ("ws-garbled", "RUNNING", "version-7", False, "unknown"),
        ("ws-noflag-new", "RUNNING", latest, None,
         "compliant" if newest_new_ok else "non-compliant"),
        ("ws-noflag-old", "RUNNING", OLD, None, "non-compliant"),
        ("ws-noversion", "RUNNING", None, False, "unknown"),
        ("ws-old", "RUNNING", OLD, False, "non-compliant"),
    ]


def _as_table_row(name, state, agent, flag, compliance):
    text = {True: "yes", False: "no", None: "-"}[flag]
    return [name, state, agent or "-", text, compliance]


def _as_json_entry(name, state, agent, flag, compliance):
    return {"name": name, "state": state, "agent_version": agent, "latest_agent": flag,
            "compliance": compliance}


DECISIONS = {"in-operation", "not-covered", "excluded", "busy-state", "unknown-version",
             "compliant", "stopped-skip", "running-skip", "paused", "held", "outside-window",
             "too-little-window-left", "updated-this-window", "breaker-open", "denied",
             "backoff", "waiting-for-slot", "scheduled", "would-update", "start-update"}


def _without_decisions(document):
    """The builders of a list --json document without the policy's decision and reason, each
    checked for form first: those are plan's (test_operators.py judges them)."""
    builders = []
    for b in document["builders"]:
        b = dict(b)
        decision, reason = b.pop("decision"), b.pop("reason")
        assert decision in DECISIONS and isinstance(reason, str), b
        assert (decision == "compliant") == (b["compliance"] == "compliant"), (decision, b)
        builders.append(b)
    return {**document, "builders": builders}


def test_list_prints_an_aligned_table_of_a_mixed_fleet(fake, tmp_path):
    latest = _small_fleet(fake)

    result = _list(fake, tmp_path, extra=PINNED)

    assert _table(result.stdout) == [_as_table_row(*b) for b in _expected_small(latest)]
    assert result.stderr == ""


def test_list_json_is_the_documented_document(fake, tmp_path):
    latest = _small_fleet(fake)

    result = _list(fake, tmp_path, "--json", extra=PINNED)

    assert _without_decisions(json.loads(result.stdout)) == {
        "builders": [_as_json_entry(*b) for b in _expected_small(latest)]}
    # The option may come before the command too.
    config = tmp_path / "reconciler.conf"
    before = run(["--json", "-c", str(config), "list"], client_env(fake, tmp_path / "home"))
    assert before.returncode == 0 and json.loads(before.stdout) == json.loads(result.stdout)


def test_list_judges_against_the_remembered_newest_agent_and_never_writes_state(fake, tmp_path):
    latest = _small_fleet(fake)
    # Newer than any builder's agent, yet not from the future (which would be forgotten:
    # test_hostile_api.py).
    newest = "10-01-2025"
    (tmp_path / "state").mkdir()
    state_file = tmp_path / "state" / "state.json"
    state_text = json.dumps({"format": 1, "newest_seen": newest})
    state_file.write_text(state_text)
    before = state_file.stat()

    result = _list(fake, tmp_path, "--json", extra=PINNED)

    assert _without_decisions(json.loads(result.stdout))["builders"] == [
        _as_json_entry(*b) for b in _expected_small(latest, newest_in_state=newest)]
    after = state_file.stat()
    assert state_file.read_text() == state_text
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert sorted(p.name for p in state_file.parent.iterdir()) == ["state.json"]


def test_list_of_an_empty_account(fake, tmp_path):
    table = _list(fake, tmp_path)
    document = _list(fake, tmp_path, "--json")

    assert table.stdout.splitlines() == ["NAME  STATE  AGENT  LATEST  COMPLIANCE"]
    assert json.loads(document.stdout) == {"builders": []}
    assert not (tmp_path / "state" / "state.json").exists()


def test_plan_judges_a_flagless_builder_against_the_newest_agent_listed(fake, tmp_path):
    latest = _small_fleet(fake)
    config = base_config(fake, tmp_path, extra=PINNED)

    result = run(["-c", str(config), "--json", "plan"], client_env(fake, tmp_path / "home"))

    assert result.returncode == 0, result.stderr
    verdicts = {b["name"]: b["compliance"] for b in json.loads(result.stdout)["builders"]}
    expected = {b[0]: b[4] for b in _expected_small(latest)}
    assert verdicts == expected


# ---- a large fleet: 1,000 builders, 40 pages -------------------------------------------

def _token_chain(fake):
    """The NextToken of every page, walked by hand. With the manual clock the fake issues the
    same token for the same page every time, so this is exactly the chain a client sees."""
    tokens, token = [], None
    while True:
        response = fake.call("DescribeImageBuilders", {"NextToken": token} if token else {})
        assert response.status == 200, response.body
        token = response.json().get("NextToken")
        if not token:
            return tokens
        tokens.append(token)


@pytest.mark.time_limit(120)
def test_list_follows_every_page_of_a_thousand_builders(fake, tmp_path):
    fake.config(manual_clock=True, page_size=25)
    latest = fake.config()["latest_version"]
    old = fake.generate(600, prefix="ws-", version=OLD)
    new = fake.generate(400, prefix="lab-", version=latest)
    names = sorted(old + new)
    tokens = _token_chain(fake)
    assert len(tokens) == 39
    fake.clear_calls()

    document = _list(fake, tmp_path, "--json")

    calls = fake.calls("DescribeImageBuilders")
    assert len(calls) == 40
    # The decisions read the hold tag of the builders it would stop now, and no others.
    tags = fake.calls("ListTagsForResource")
    assert len(fake.calls()) == 40 + len(tags) and 1 <= len(tags) <= 2
    assert [c["params"].get("NextToken") for c in calls] == [None] + tokens
    assert {c["outcome"] for c in calls} == {"OK"}
    listed = json.loads(document.stdout)["builders"]
    assert [b["name"] for b in listed] == names
    assert len(set(b["name"] for b in listed)) == 1000
    verdicts = {b["name"]: (b["agent_version"], b["latest_agent"], b["compliance"])
                for b in listed}
    assert all(verdicts[n] == (OLD, False, "non-compliant") for n in old)
    assert all(verdicts[n] == (latest, True, "compliant") for n in new)

    fake.clear_calls()
    table = _list(fake, tmp_path)
    assert [row[0] for row in _table(table.stdout)] == names
    assert len(fake.calls("DescribeImageBuilders")) == 40
