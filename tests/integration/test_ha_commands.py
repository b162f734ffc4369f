"""The commands with [ha] (SPEC "High availability", "Holds"): `pause` and `resume` change the
table's pauses item (doc: the pause file's JSON, rev: writes so far), conditional on its rev so
that two operators at once lose nothing; `status`, `plan` and `list` read the pauses and each
target's state from the table, not from local files, and `status` shows who holds the lease.
Against dynalite, an independent DynamoDB (tests/dynalite_server.py); the items are checked
with botocore, another client than ours."""
import json
import socket
import subprocess
import time

import pytest

from ha_hosts import Host
from reconciler import BIN, run

OLD = "06-19-2023"
LEASE = 3  # seconds
HISTORY_DOC = {
    "format": 1, "operations": [], "backoff": [], "failures": [],
    "history": [{"builder": "hist-builder-1", "result": "succeeded",
                 "started_at": 1795830000, "finished_at": 1795830600,
                 "from_version": OLD, "to_version": "11-25-2025", "reason": "updated"}],
}


def db(dynalite):
    return dynalite.botocore()


def get_item(dynalite, table, key):
    return db(dynalite).get_item(TableName=table, Key={"pk": {"S": key}},
                                 ConsistentRead=True).get("Item")


def pauses_item(dynalite, table):
    """(rev, {glob: pause}) of the pauses item, its doc checked to be a pause file."""
    item = get_item(dynalite, table, "pauses#default")
    assert item is not None
    assert set(item) == {"pk", "doc", "rev"}, item
    doc = json.loads(item["doc"]["S"])
    assert doc["format"] == 1
    return int(item["rev"]["N"]), {p["glob"]: p for p in doc["pauses"]}


def cli(host, *args, timeout=60):
    return run(["-c", str(host.config), *args], host.env, timeout=timeout)


@pytest.fixture
def host(fake, dynalite, table, tmp_path, daemons):
    """Host "a" of the table, its daemon not started; no SUDO_USER, so who asks is us."""
    h = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE)
    h.env.pop("SUDO_USER", None)
    return h


def local_files(host):
    return sorted(p.name for p in (host.dir / "state").iterdir()) \
        if (host.dir / "state").exists() else []


# ---- pause and resume -------------------------------------------------------------------------

@pytest.mark.time_limit(60)
def test_pause_and_resume_change_the_tables_pauses_item(host, dynalite, table):
    assert get_item(dynalite, table, "pauses#default") is None

    done = cli(host, "pause", "ws-*", "--reason", "migrating apps", "--for", "2h")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ws-*: paused by "), done.stdout
    assert "migrating apps" in done.stdout
    rev, pauses = pauses_item(dynalite, table)
    assert rev == 1
    assert set(pauses) == {"ws-*"}
    assert pauses["ws-*"]["reason"] == "migrating apps"
    assert pauses["ws-*"]["until"] - pauses["ws-*"]["since"] == 7200

    done = cli(host, "pause")
    assert done.returncode == 0, done.stderr
    rev, pauses = pauses_item(dynalite, table)
    assert (rev, set(pauses)) == (2, {"ws-*", "*"})

    # A glob no pause has: refused, the pauses listed, nothing written.
    done = cli(host, "resume", "nope-*")
    assert done.returncode == 1, done.stderr
    assert "no pause has the glob 'nope-*'" in done.stderr
    assert pauses_item(dynalite, table)[0] == 2

    done = cli(host, "resume", "ws-*")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ws-*: resumed (was paused by "), done.stdout
    done = cli(host, "resume")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("*: resumed"), done.stdout
    rev, pauses = pauses_item(dynalite, table)
    assert (rev, pauses) == (4, {})
    done = cli(host, "resume")
    assert (done.returncode, done.stdout) == (0, "no pauses to resume\n"), done.stderr

    # Nothing of it on the local disk: the pauses are the table's.
    assert local_files(host) == []


@pytest.mark.time_limit(60)
def test_ended_pauses_are_pruned_when_the_item_is_written(host, dynalite, table):
    ended = {"format": 1, "pauses": [
        {"glob": "old-*", "who": "carol", "reason": None, "since": 1000, "until": 2000}]}
    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "pauses#default"}, "doc": {"S": json.dumps(ended)}, "rev": {"N": "5"}})
    done = cli(host, "pause", "new-*")
    assert done.returncode == 0, done.stderr
    rev, pauses = pauses_item(dynalite, table)
    assert (rev, set(pauses)) == (6, {"new-*"})


@pytest.mark.time_limit(90)
def test_operators_pausing_at_once_lose_no_pause(host, dynalite, table):
    # Four at once: each may find the item changed by each of the three others, within the
    # command's tries.
    globs = [f"op{i}-*" for i in range(4)]
    rounds = 3
    for round_ in range(rounds):
        procs = [subprocess.Popen([BIN, "-c", str(host.config), "pause", f"r{round_}-{g}"],
                                  env=host.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for g in globs]
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            assert ": paused by " in out
    rev, pauses = pauses_item(dynalite, table)
    assert set(pauses) == {f"r{r}-{g}" for r in range(rounds) for g in globs}
    assert rev == rounds * len(globs)


@pytest.mark.time_limit(60)
def test_an_item_that_holds_no_pauses_is_refused_and_left_alone(host, dynalite, table):
    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "pauses#default"}, "doc": {"S": "{not json"}, "rev": {"N": "3"}})
    done = cli(host, "pause")
    assert done.returncode == 2, done.stderr
    assert f"table {table}: item pauses#default: doc: not valid JSON" in done.stderr
    assert "nothing was changed" in done.stderr
    assert get_item(dynalite, table, "pauses#default")["doc"]["S"] == "{not json"
    done = cli(host, "status")
    assert done.returncode == 0, done.stderr
    assert "Pauses: error: table " in done.stdout
    assert "until it can read the item, the daemon treats every builder as paused" in done.stdout


# ---- status, plan, list -----------------------------------------------------------------------

@pytest.mark.time_limit(90)
def test_status_and_plan_read_the_pauses_and_the_state_from_the_table(host, fake, dynalite,
                                                                      table):
    name = fake.generate(1, prefix="hacmd-", version=OLD)[0]
    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "state#default#default"}, "doc": {"S": json.dumps(HISTORY_DOC)},
        "rev": {"N": "4"}, "fence": {"N": "2"}, "holder": {"S": "b"}})
    done = cli(host, "pause", name, "--reason", "table test")
    assert done.returncode == 0, done.stderr

    done = cli(host, "status")
    assert done.returncode == 0, done.stderr
    assert f"State: table {table}, item state#default#default\n" in done.stdout
    assert "State file:" not in done.stdout
    assert "Pauses: 1" in done.stdout and "table test" in done.stdout
    assert "hist-builder-1" in done.stdout  # the history of the item, not of a file

    done = cli(host, "status", "--json")
    assert done.returncode == 0, done.stderr
    st = json.loads(done.stdout)
    assert st["state_item"] == "state#default#default"
    assert [h["builder"] for h in st["history"]] == ["hist-builder-1"]
    assert [p["glob"] for p in st["pauses"]] == [name]
    assert st["pauses_error"] is None

    done = cli(host, "plan")
    assert done.returncode == 0, done.stderr
    assert "Pauses: 1" in done.stdout
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith(name) and "RUNNING" in ln)
    assert " paused " in line and "table test" in line, line

    done = cli(host, "plan", "--json")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert [p["glob"] for p in plan["pauses"]] == [name]
    decision = next(b for b in plan["builders"] if b["name"] == name)
    assert decision["decision"] == "paused" and "table test" in decision["reason"], decision

    done = cli(host, "list")
    assert done.returncode == 0, done.stderr
    assert name in done.stdout

    # Nothing was read from, or written to, the local disk.
    assert local_files(host) == []


@pytest.mark.time_limit(60)
def test_a_missing_state_item_is_an_empty_state_and_a_corrupt_one_an_error(host, dynalite, table):
    done = cli(host, "status", "--json")
    assert done.returncode == 0, done.stderr
    st = json.loads(done.stdout)
    assert (st["operations"], st["history"]) == ([], [])
    assert st["lease"]["state"] == "none"

    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "state#default#default"}, "doc": {"S": '{"format": 1, "operations": 7}'},
        "rev": {"N": "1"}, "fence": {"N": "1"}})
    done = cli(host, "status")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert f"item state#default#default of table {table}: " in done.stderr


@pytest.mark.time_limit(60)
def test_status_names_each_targets_item(fake, dynalite, table, tmp_path, daemons):
    h = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE)
    text = h.config.read_text()
    text += "\n[target one]\nregions = us-east-1, eu-west-1\n"
    h.config.write_text(text)
    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "state#default#one/eu-west-1"}, "doc": {"S": json.dumps(HISTORY_DOC)},
        "rev": {"N": "1"}, "fence": {"N": "1"}})
    done = cli(h, "status")
    assert done.returncode == 0, done.stderr
    assert "STATE ITEM" in done.stdout and "STATE FILE" not in done.stdout
    assert "state#default#one/us-east-1" in done.stdout
    assert "state#default#one/eu-west-1" in done.stdout
    assert "hist-builder-1" in done.stdout
    done = cli(h, "status", "--json")
    assert done.returncode == 0, done.stderr
    targets = {t["name"]: t for t in json.loads(done.stdout)["targets"]}
    assert targets["one/eu-west-1"]["state_item"] == "state#default#one/eu-west-1"
    assert targets["one/eu-west-1"]["state_file"] is None
    history = targets["one/eu-west-1"]["state"]["history"]
    assert [x["builder"] for x in history] == ["hist-builder-1"]


# ---- the lease --------------------------------------------------------------------------------

@pytest.mark.time_limit(90)
def test_status_shows_no_lease_then_the_running_daemons(host, dynalite, table):
    done = cli(host, "status")
    assert done.returncode == 0, done.stderr
    assert "Lease: lease#default: no lease yet (no host has taken it)\n" in done.stdout

    host.start()
    assert host.daemon.wait_for_log("acquired the lease", 20), host.log()
    done = cli(host, "status")
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("Lease: "))
    assert line.startswith(f"Lease: lease#default held by a (epoch 1, lease {LEASE}s), "), line
    assert line.endswith("(by a's clock)"), line

    done = cli(host, "status", "--json")
    assert done.returncode == 0, done.stderr
    lease = json.loads(done.stdout)["lease"]
    assert (lease["item"], lease["table"], lease["state"], lease["holder"], lease["epoch"],
            lease["lease_duration_ms"], lease["error"]) == \
        ("lease#default", table, "held", "a", 1, LEASE * 1000, None)
    assert host.daemon.stop() == 0

    done = cli(host, "status", "--json")
    lease = json.loads(done.stdout)["lease"]
    assert (lease["state"], lease["holder"]) == ("released", None)


@pytest.mark.time_limit(60)
def test_status_shows_the_holders_times_as_ages_by_its_clock(host, dynalite, table):
    now_ms = int(time.time() * 1000)
    db(dynalite).put_item(TableName=table, Item={
        "pk": {"S": "lease#default"}, "holder": {"S": "host-x"}, "rvn": {"S": "r-1"},
        "lease_ms": {"N": "30000"}, "epoch": {"N": "7"}, "lineage": {"S": "g1"},
        "acquired_at": {"N": str(now_ms - 2 * 3600 * 1000 - 500)},
        "renewed_at": {"N": str(now_ms - 3000 - 500)}})
    done = cli(host, "status")
    assert done.returncode == 0, done.stderr
    assert "Lease: lease#default held by host-x (epoch 7, lease 30s), acquired 2h ago, " \
           "renewed 3s ago (by host-x's clock)\n" in done.stdout, done.stdout
    done = cli(host, "status", "--json")
    lease = json.loads(done.stdout)["lease"]
    assert (lease["holder"], lease["epoch"], lease["lease_duration_ms"]) == ("host-x", 7, 30000)
    assert 7200 <= lease["acquired_age_s"] <= 7210
    assert 3 <= lease["renewed_age_s"] <= 13
    assert lease["acquired_at"].endswith("Z")


# ---- errors -----------------------------------------------------------------------------------

def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.time_limit(90)
@pytest.mark.parametrize("args", [("pause",), ("resume",), ("status",), ("status", "--json"),
                                  ("plan",)])
def test_an_unreachable_table_is_named_with_its_endpoint(fake, dynalite, table, tmp_path,
                                                         daemons, args):
    url = f"http://127.0.0.1:{closed_port()}"
    h = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE, endpoint=url)
    done = cli(h, *args)
    assert done.returncode == 3, (done.stdout, done.stderr)
    assert f"of table {table} at {url}: GetItem failed" in done.stderr, done.stderr
    assert local_files(h) == []
