"""High availability (SPEC "High availability", I13) when DynamoDB fails some hosts: each host
reaches dynalite through a proxy of its own (tests/ddb_proxy.py), so that one host can be cut
off while the other is not, or both throttled. Judged, as in test_ha.py, from the fake
AppStream's call log (which host made each mutating call) and from the proxies' logs (when a
host's lease writes reached DynamoDB): a holder cut off steps down before its lease could have
passed and the standby finishes its updates; under throttling the updates finish with one host
acting at a time, and the daemons say that they were throttled without an error storm."""
import re
import time

import pytest

from ddb_proxy import DdbProxy
from ha_hosts import Host, acted_by, all_latest
from reconciler import accepted, wait_until

OLD = "06-19-2023"
LEASE = 4  # seconds: short for quick takeovers, long enough for a loaded 2-core machine


@pytest.fixture
def proxies(dynalite):
    """proxies(name) -> a DdbProxy in front of dynalite, stopped at the end of the test."""
    made = []

    def make(name):
        made.append(DdbProxy(dynalite.url, name=name).start())
        return made[-1]

    yield make
    for p in made:
        p.stop()


def lease_writes(proxy, outcome="forwarded"):
    """The lease's writes (UpdateItem or PutItem of a lease# item) a proxy saw, in order."""
    return [e for e in proxy.log() if e["operation"] in ("UpdateItem", "PutItem")
            and (e["key"] or "").startswith("lease#") and e["outcome"] == outcome]


def watch(predicates, timeout, interval=0.02):
    """{name: wall time each predicate first held} once all have, or the timeout passed."""
    seen = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(predicates) and time.monotonic() < deadline:
        for name, p in predicates.items():
            if name not in seen and p():
                seen[name] = time.time()
        time.sleep(interval)
    return seen


def stops_by_builder(fake):
    out = {}
    for c in accepted(fake, "StopImageBuilder"):
        out[c["names"][0]] = out.get(c["names"][0], 0) + 1
    return out


# How the holder is cut off: its requests vanish unanswered (the hard case: every one waits
# out its budget), its connections are refused (each fails at once), or its requests reach
# DynamoDB and the answers are lost (its renewals take effect unseen, so the standby sees the
# lease renewed after the holder last knew it was).
CUTS = ("blackhole", "refuse", "answers")


@pytest.mark.time_limit(150)
@pytest.mark.parametrize("cut", CUTS)
def test_a_holder_cut_off_from_dynamodb_steps_down_before_its_lease_could_pass(
        fake, dynalite, table, tmp_path, daemons, proxies, cut):
    fake.config(durations={"stopping": 4.0, "pending": 0.5, "updating_agent": 0.5})
    names = fake.generate(3, prefix=f"cut-{cut}-", version=OLD)
    pa, pb = proxies("a"), proxies("b")
    a = Host("a", fake, dynalite, table, tmp_path, daemons, LEASE, endpoint=pa.url).start()
    assert a.daemon.wait_for_log("acquired the lease", 20), a.log()
    b = Host("b", fake, dynalite, table, tmp_path, daemons, LEASE, endpoint=pb.url).start()
    assert b.daemon.wait_for_log("standby: a holds the lease", 20), b.log()
    wait_until(lambda: len(accepted(fake, "StopImageBuilder")) >= 2, timeout=30,
               what="two Stops accepted")

    # a is cut off from DynamoDB; b's requests go through.
    pa.cut(cut)
    cut_at = time.time()
    seen = watch({"lost": lambda: "lost the lease" in a.log(),
                  "stepped down": lambda: "stepping down" in a.log(),
                  "exited": lambda: a.daemon.proc.poll() is not None,
                  "b acquired": lambda: "acquired the lease" in b.log()},
                 timeout=6 * LEASE + 25)
    assert set(seen) == {"lost", "stepped down", "exited", "b acquired"}, (seen, a.log()[-3000:])
    assert a.daemon.wait(5) == 1, a.log()[-3000:]
    wait_until(lambda: all_latest(fake, names), timeout=60, what="the updates finished by b")

    # a's last lease write answered was sent before the proxy received it, so a's lease could
    # not last past that receipt plus half the lease (its margin, lease.h).
    last_known = max(e["wall"] for e in lease_writes(pa))
    assert last_known <= cut_at
    acted = acted_by(fake, [a, b])
    assert acted["a"] and acted["b"], {k: len(v) for k, v in acted.items()}
    a_last = max(c["wall"] for c in acted["a"])
    assert a_last < last_known + LEASE / 2, (a_last - last_known, acted["a"])
    # It stepped down on its own clock, within its lease and before b took over, ...
    assert seen["lost"] <= seen["stepped down"] < seen["b acquired"], seen
    assert seen["stepped down"] - last_known < LEASE / 2 + 0.5, seen
    # ... and b's take went to DynamoDB only once a whole lease had passed since the last of
    # a's writes that reached DynamoDB, answered or not (b counts on its own clock from a
    # read after it).
    last_landed = max(e["wall"] for e in lease_writes(pa) + lease_writes(pa, "answer lost"))
    b_take = min(e["wall"] for e in lease_writes(pb))
    assert b_take - last_landed >= LEASE, b_take - last_landed
    # Never both at once: every mutating call of a reached the fake before b's first.
    assert a_last < min(c["wall"] for c in acted["b"])
    # No builder stopped twice; each was stopped once, by a or b.
    assert stops_by_builder(fake) == {n: 1 for n in names}, stops_by_builder(fake)
    assert "lost the lease" in a.log() and "not renewed in time" in a.log(), a.log()[-3000:]
    # Why is said at the default level: the lease's requests failed.
    assert re.search(r"^warning: lease \S+: \w+ lease lease#", a.log(), re.M), a.log()[-3000:]
    if cut == "blackhole":
        assert [e for e in pa.log() if e["outcome"] == "blackholed"], pa.log()
    if cut == "answers":
        assert lease_writes(pa, "answer lost"), pa.log()
    assert b.daemon.stop() == 0


# The lease's failed requests, told as warnings (lease-request-failed), a few lines at most.
LEASE_WARNING = re.compile(r"^warning: lease \S+: .*ProvisionedThroughputExceeded.*$", re.M)
# A state write that ran out of DynamoDB's retries (three, standard mode) holds the calls
# until the next pass writes it (state-write-failed, err): rare at 30% (0.3 ** 3 of them).
STATE_WRITE_ERROR = re.compile(r"^error: UpdateItem failed: ProvisionedThroughputExceeded"
                               r".* after 3 attempts; holding every Stop and Start", re.M)
# A read of the operators' pauses that ran out of retries: every builder counts as paused
# for that pass (I10), told once, and once more when they can be read again.
PAUSES_READ_ERROR = re.compile(r"^error: cannot read the operators' pauses from item "
                               r"pauses#\S+ of table \S+: GetItem failed: "
                               r"ProvisionedThroughputExceeded", re.M)


@pytest.mark.time_limit(240)
def test_throttled_dynamodb_one_host_acts_and_the_updates_finish(
        fake, dynalite, table, tmp_path, daemons, proxies):
    fake.config(durations={"stopping": 1.0, "pending": 0.5, "updating_agent": 0.5})
    names = fake.generate(6, prefix="thr-", version=OLD)
    pa, pb = proxies("a"), proxies("b")
    hosts = []
    for name, proxy in (("a", pa), ("b", pb)):
        h = Host(name, fake, dynalite, table, tmp_path, daemons, LEASE, endpoint=proxy.url,
                 max_concurrent=2)
        # DynamoDB's retries as deployed (the standard mode's three attempts) for the state's
        # writes; the lease sends each request once whatever this says (lease_run.h).
        del h.env["AWS_MAX_ATTEMPTS"]
        hosts.append(h)
    a, b = hosts
    pa.throttle(fraction=0.3, seed=1)
    pb.throttle(fraction=0.3, seed=2)
    started = time.monotonic()
    a.start()
    assert a.daemon.wait_for_log("acquired the lease", 30), a.log()
    b.start()
    wait_until(lambda: all_latest(fake, names), timeout=150, what="every builder updated")
    elapsed = time.monotonic() - started
    time.sleep(LEASE)  # a standby that misbehaves would act in this time

    throttled = {p.name: len([e for e in p.log() if e["outcome"] == "throttled"])
                 for p in (pa, pb)}
    assert throttled["a"] >= 1 and throttled["b"] >= 1, throttled
    # One host at a time: the first holder normally keeps the lease through the throttling
    # (a renewal has a quarter of the lease to get through); should it lose it, every call
    # of it came before the other's first.
    acted = acted_by(fake, [a, b])
    if "lost the lease" in a.log():
        assert max(c["wall"] for c in acted["a"]) < min(c["wall"] for c in acted["b"])
    else:
        assert set(acted) == {"a"}, {k: len(v) for k, v in acted.items()}
    assert stops_by_builder(fake) == {n: 1 for n in names}, stops_by_builder(fake)

    # Throttling is told: each host warns of its lease's throttled requests, at most about
    # once a minute (not a line per request), and nothing else is an error but the rare state
    # write or pauses read that ran out of retries, each followed by its recovery.
    for h in (a, b):
        log = h.log()
        warnings = LEASE_WARNING.findall(log)
        assert 1 <= len(warnings) <= 2 + elapsed / 60, (h.name, warnings, elapsed)
        errors = [line for line in log.splitlines() if line.startswith("error:")]
        writes, reads = STATE_WRITE_ERROR.findall(log), PAUSES_READ_ERROR.findall(log)
        assert len(writes) + len(reads) == len(errors) <= 4, (h.name, errors)
        if writes:
            assert "written again; calls resume" in log[log.rindex(writes[-1]):], log[-3000:]
        if reads:
            assert "can be read again" in log[log.rindex(reads[-1]):], log[-3000:]
    assert a.daemon.stop() == (1 if "lost the lease" in a.log() else 0)
    assert b.daemon.stop() == 0
