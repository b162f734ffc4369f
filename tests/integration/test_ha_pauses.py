"""The operators' pauses with [ha] (SPEC "High availability", "Holds, notices and pacing",
I10): the holder of the lease reads them from the table's item pauses#<name> (doc: the pause
file's JSON, rev: writes so far), written here with botocore as the `pause` command would; a
local pause file is not read. Judged by the fake AppStream's call log: a paused builder is
never stopped, the others are updated; a pause written while the daemon runs is honoured by
every pass that began after it; resume (item rewritten or deleted) lets the update go; a doc
that does not parse pauses every builder and the log names the item."""
import json
import time

import pytest

from ha_hosts import Host, all_latest
from reconciler import PLAIN_BIN, Daemon, accepted, wait_until

OLD = "06-19-2023"
LEASE = 3
ITEM = "pauses#default"
VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite"]


def db(dynalite):
    return dynalite.botocore()


def pause_doc(*globs):
    return json.dumps({"format": 1, "pauses": [
        {"glob": g, "who": "alice", "reason": "migrating apps", "since": int(time.time()),
         "until": None} for g in globs]})


def put_pauses(dynalite, table, rev, doc):
    db(dynalite).put_item(TableName=table, Item={"pk": {"S": ITEM}, "doc": {"S": doc},
                                                 "rev": {"N": str(rev)}})


def describes(fake, host):
    return sum(1 for c in fake.calls("DescribeImageBuilders") if c["access_key_id"] == host.key)


def wait_passes(fake, host, n, timeout=30):
    """Until n more passes have listed the builders; a target's passes follow one another, so
    from the second on each began after this call."""
    first = describes(fake, host)
    wait_until(lambda: describes(fake, host) >= first + n, timeout=timeout,
               what=f"{n} more passes")


def stops(fake, name):
    return accepted(fake, "StopImageBuilder", name)


def holder(fake, dynalite, table, tmp_path, daemons, before=None):
    host = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE, poll_interval="1s")
    if before:
        before(host)
    host.start()
    assert host.daemon.wait_for_log("acquired the lease", 20), host.log()
    return host


@pytest.mark.time_limit(150)
def test_a_pause_written_while_holding_is_honoured_and_resume_lets_the_update_go(
        fake, dynalite, table, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    held = fake.generate(1, prefix="held-")  # on the latest agent: nothing to do yet
    free = fake.generate(2, prefix="free-")
    a = holder(fake, dynalite, table, tmp_path, daemons)
    wait_passes(fake, a, 1)

    put_pauses(dynalite, table, 1, pause_doc("held-*"))
    wait_passes(fake, a, 2)  # every pass from now on began after the pause was written
    for name in held + free:
        fake.update_builder(name, AppstreamAgentVersion=OLD)
    wait_until(lambda: all_latest(fake, free), timeout=60, what="the unpaused builders updated")
    wait_passes(fake, a, 3)
    assert stops(fake, held[0]) == [], fake.calls()
    assert "paused by alice" in a.log(), a.log()

    put_pauses(dynalite, table, 2, pause_doc())  # `resume`: the item rewritten, no pause
    wait_until(lambda: all_latest(fake, held), timeout=60, what="the resumed builder updated")
    assert len(stops(fake, held[0])) == 1
    assert a.daemon.stop() == 0


@pytest.mark.time_limit(150)
def test_a_corrupt_doc_pauses_every_builder_until_the_item_is_deleted(
        fake, dynalite, table, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    names = fake.generate(2, prefix="corrupt-", version=OLD)
    put_pauses(dynalite, table, 1, '{"format": 1, "pauses": [{"glob": 7}]}')
    a = holder(fake, dynalite, table, tmp_path, daemons)
    wait_passes(fake, a, 3)

    assert [stops(fake, n) for n in names] == [[], []], fake.calls()
    errors = [line for line in a.log().splitlines() if line.startswith("error:")]
    assert len(errors) == 1, a.log()  # once, not every pass
    assert f"pauses in table {table} are corrupt: item {ITEM}: doc: pauses[0].glob" in errors[0], \
        errors
    assert "every builder counts as paused" in errors[0], errors

    db(dynalite).delete_item(TableName=table, Key={"pk": {"S": ITEM}})  # no item: no pauses
    wait_until(lambda: all_latest(fake, names), timeout=60, what="every builder updated")
    assert f"the operators' pauses in item {ITEM} of table {table} can be read again" \
        in a.log(), a.log()
    assert a.daemon.stop() == 0


@pytest.mark.time_limit(120)
def test_a_local_pause_file_is_ignored_with_ha(fake, dynalite, table, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    names = fake.generate(2, prefix="local-", version=OLD)

    def pause_everything_locally(host):
        pause_file = host.dir / "state" / "state.pauses.json"
        pause_file.write_text(pause_doc("*"))
        pause_file.chmod(0o600)

    a = holder(fake, dynalite, table, tmp_path, daemons, before=pause_everything_locally)
    wait_until(lambda: all_latest(fake, names), timeout=60, what="every builder updated")
    assert "paused by alice" not in a.log(), a.log()
    assert a.daemon.stop() == 0


@pytest.mark.time_limit(240)
def test_the_reader_is_clean_under_valgrind(fake, dynalite, table, tmp_path, daemons):
    """The plain build under memcheck: reads, a parse, waiting passes and the shutdown (the
    reader freed after the targets, a read perhaps still out) leave no error and no leak."""
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    names = fake.generate(3, prefix="vg-", version=OLD)
    put_pauses(dynalite, table, 1, pause_doc(names[0]))
    host = Host("a", fake, dynalite, table, tmp_path, daemons, 5, poll_interval="1s")
    host.daemon = Daemon(host.config, host.env, host.dir / "daemon.log",
                         argv=[*VALGRIND, PLAIN_BIN, "-c", str(host.config), "run"])
    daemons.append(host.daemon)
    assert host.daemon.wait_for_log("acquired the lease", 60), host.log()
    wait_until(lambda: all_latest(fake, names[1:]), timeout=120, what="the unpaused updated")
    assert stops(fake, names[0]) == []
    assert host.daemon.stop(timeout=60) == 0, host.log()
