"""High availability (SPEC "High availability", I13): hosts sharing an [ha] table on dynalite,
an independent DynamoDB (tests/dynalite_server.py), each a daemon with a directory of its own
and credentials of its own, so that the fake AppStream's call log says which host made every
call. Judged from that log: one host acts; a standby takes over a killed holder and finishes
its update without a second Stop; a holder paused past its lease makes no call when it wakes
and steps down; a holder that stops cleanly hands over at once."""
import json
import signal
import time

import pytest

from ha_hosts import MUTATING, Host, acted_by, all_latest, table_phases
from reconciler import accepted, wait_until

OLD = "06-19-2023"
LEASE = 3  # seconds: short, so that takeovers are quick


@pytest.mark.time_limit(120)
def test_one_host_acts_and_the_other_stands_by(fake, dynalite, table, tmp_path, daemons):
    fake.config(durations={"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3})
    names = fake.generate(4, prefix="ha-", version=OLD)
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE).start()

    wait_until(lambda: all_latest(fake, names), timeout=60, what="every builder updated")
    time.sleep(2 * LEASE)  # long enough for a standby that misbehaves to act

    acted = acted_by(fake, [a, b])
    assert set(acted) == {"a"}, {k: len(v) for k, v in acted.items()}
    assert sorted(c["names"][0] for c in acted["a"] if c["operation"] == "StopImageBuilder") \
        == sorted(names)
    assert "standby: a holds the lease" in b.log(), b.log()
    assert a.daemon.stop() == 0
    assert b.daemon.stop() == 0


@pytest.mark.time_limit(150)
def test_a_standby_finishes_a_killed_holders_update_without_a_second_stop(fake, dynalite, table,
                                                                        tmp_path, daemons):
    fake.config(durations={"stopping": 4.0, "pending": 0.5, "updating_agent": 0.5})
    names = fake.generate(2, prefix="kill-", version=OLD)
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    wait_until(lambda: len(accepted(fake, "StopImageBuilder")) == 2, timeout=30,
               what="both Stops accepted")
    killed_at = time.monotonic()
    a.daemon.kill()

    assert b.daemon.wait_for_log("acquired the lease", 3 * LEASE + 5), b.log()
    took_over = time.monotonic() - killed_at
    wait_until(lambda: all_latest(fake, names), timeout=60, what="the updates finished by b")

    # Never both at once: every call of the killed holder reached the fake before the
    # standby's first.
    acted = acted_by(fake, [a, b])
    assert max(c["wall"] for c in acted["a"]) < min(c["wall"] for c in acted["b"]), acted
    stops = accepted(fake, "StopImageBuilder")
    assert sorted(c["names"][0] for c in stops) == sorted(names)  # no second Stop
    assert {c["access_key_id"] for c in stops} == {a.key}
    starts = accepted(fake, "StartImageBuilder")
    assert sorted(c["names"][0] for c in starts) == sorted(names)
    assert {c["access_key_id"] for c in starts} == {b.key}
    # Replaced within a lease, one check and one poll (and the time to notice the kill).
    assert took_over < LEASE + LEASE / 5 + 1 + 2, took_over
    assert b.daemon.stop() == 0


# The holder is killed with its operation in each phase; a slow call keeps the phase whose
# call is in flight (the intent durable in the table, the call not answered yet).
PHASES = {
    "STOP_INTENT": {"slow": "StopImageBuilder"},
    "STOPPING": {},
    "START_INTENT": {"slow": "StartImageBuilder"},
    "STARTING": {},
}


@pytest.mark.time_limit(150)
@pytest.mark.parametrize("phase", PHASES)
def test_the_holder_killed_in_each_phase_is_resumed_by_the_standby_with_no_call_twice(
        fake, dynalite, table, tmp_path, daemons, phase):
    fake.config(durations={"stopping": 2.5, "pending": 1.5, "updating_agent": 1.5})
    name = fake.generate(1, prefix=f"ph-{phase.lower().replace('_', '-')}-", version=OLD)[0]
    if PHASES[phase].get("slow"):
        fake.add_fault("slow", operations=[PHASES[phase]["slow"]], delay=1.5)
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    wait_until(lambda: table_phases(dynalite, table).get(name) == phase, timeout=30,
               interval=0.02, what=f"{name} in {phase} in the table")
    a.daemon.kill()
    fake.clear_faults()

    assert b.daemon.wait_for_log("acquired the lease", 3 * LEASE + 5), b.log()
    wait_until(lambda: all_latest(fake, [name]), timeout=60, what="the update finished by b")
    wait_until(lambda: table_phases(dynalite, table) == {}, timeout=20,
               what="the operation ended in the table")
    assert len(accepted(fake, "StopImageBuilder", name)) == 1, fake.calls()
    assert len(accepted(fake, "StartImageBuilder", name)) == 1, fake.calls()
    assert b.daemon.stop() == 0


@pytest.mark.time_limit(150)
def test_a_holder_paused_past_its_lease_makes_no_call_and_steps_down(fake, dynalite, table,
                                                                    tmp_path, daemons):
    fake.config(durations={"stopping": 2.0, "pending": 0.5, "updating_agent": 0.5})
    names = fake.generate(3, prefix="pause-", version=OLD)
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE, max_concurrent=1).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE, max_concurrent=1).start()
    wait_until(lambda: accepted(fake, "StopImageBuilder"), timeout=30, what="a first Stop")
    a.daemon.signal(signal.SIGSTOP)
    paused_at = time.time()
    assert b.daemon.wait_for_log("acquired the lease", 3 * LEASE + 5), b.log()
    time.sleep(1)
    a.daemon.signal(signal.SIGCONT)

    code = a.daemon.wait(30)
    wait_until(lambda: all_latest(fake, names), timeout=90, what="every builder updated by b")
    late = [c for c in fake.calls() if c["operation"] in MUTATING and c["access_key_id"] == a.key
            and c["wall"] >= paused_at]
    assert late == [], late
    assert code != 0 and "stepping down" in a.log(), a.log()[-2000:]
    # Its update in flight is the next holder's to finish, and it says so.
    assert "the host that holds the lease next resumes it from the shared table" in a.log(), \
        a.log()[-2000:]
    stops = accepted(fake, "StopImageBuilder")
    assert sorted(c["names"][0] for c in stops) == sorted(names)
    assert b.daemon.stop() == 0


@pytest.mark.time_limit(120)
def test_a_clean_stop_hands_the_lease_over_at_once(fake, dynalite, table, tmp_path, daemons):
    fake.generate(1, prefix="calm-", version=fake.config()["latest_version"])
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert b.daemon.wait_for_log("standby", 20), b.log()
    stopped_at = time.monotonic()
    assert a.daemon.stop() == 0
    assert "released" in a.log(), a.log()
    assert b.daemon.wait_for_log("acquired the lease", 2 * LEASE), b.log()
    # A released lease is taken at the standby's next read, not a lease later.
    assert time.monotonic() - stopped_at < LEASE, b.log()
    assert b.daemon.stop() == 0


@pytest.mark.time_limit(150)
def test_a_lease_item_deleted_and_made_anew_resumes_the_state_fenced_under_the_old_one(
        fake, dynalite, table, tmp_path, daemons):
    """Epochs count again from 1 in a lease item made anew; the state items still carry the
    fence of the old item's epochs. The new lease's lineage tells them apart: its holder loads
    the state and finishes the operation in flight, without a second Stop."""
    fake.config(durations={"stopping": 3.0, "pending": 0.5, "updating_agent": 0.5})
    name = fake.generate(1, prefix="anew-", version=OLD)[0]
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert a.daemon.wait_for_log("acquired the lease (epoch 1)", 20), a.log()
    assert a.daemon.stop() == 0  # released: the next take is epoch 2
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert b.daemon.wait_for_log("acquired the lease (epoch 2)", 20), b.log()
    wait_until(lambda: table_phases(dynalite, table).get(name) == "STOPPING", timeout=30,
               interval=0.05, what=f"{name} STOPPING in the table")
    b.daemon.kill()
    lease_key = json.dumps({"pk": {"S": "lease#default"}})
    dynalite.aws("delete-item", "--table-name", table, "--key", lease_key, table=False)

    made_at = time.time()
    c = Host("c", fake, dynalite, table, tmp_path, daemons, LEASE).start()
    assert c.daemon.wait_for_log("acquired the lease (epoch 1), a new lease", 20), c.log()
    wait_until(lambda: all_latest(fake, [name]), timeout=60, what="the update finished by c")
    assert len(accepted(fake, "StopImageBuilder", name)) == 1, fake.calls()
    assert len(accepted(fake, "StartImageBuilder", name)) == 1, fake.calls()

    lease = dynalite.aws("get-item", "--table-name", table, "--key", lease_key,
                         "--consistent-read", table=False)["Item"]
    assert lease["holder"] == {"S": "c"} and lease["epoch"] == {"N": "1"}, lease
    assert lease["lineage"]["S"], lease
    # The holder's wall clock, for people to read: when it took the lease and renewed it.
    acquired, renewed = (int(lease[k]["N"]) / 1000 for k in ("acquired_at", "renewed_at"))
    assert made_at - 1 <= acquired <= renewed <= time.time() + 1, lease
    assert c.daemon.stop() == 0
