"""The random-kill campaign: SIGKILL the daemon (`run`) at random instants, again and again,
while it updates a fleet of 20 builders with max_concurrent 3, restarting it after each kill.

The fake runs on its real-time clock with short transitions, so builders move on while the
daemon is dead and every restart meets a fleet that changed under it. Each run lives for a
random time of up to a little over one poll, so kills land anywhere: before the first describe
answers, between an intent reaching the disk and its call, with a call in flight, while a state
file is replaced. Whenever the fleet has fully converged, AWS "ships" a new agent (the fake's
latest version moves on a day) and the fleet is replaced by a new one on the agent before it,
so that the kills keep landing in updates. (A builder is updated once per window span; under
`always` that is a day, so a new release for the same builders would wait a day.)

The hostile run does the same on a state directory that fills up (ENOSPC) and frees again
at random instants, with describe listings that leave out a random builder now and then.

Every update is announced a second ahead (notice) and settles for a second, so kills also
land while an update is announced and while it settles.

At the end a last daemon runs undisturbed until the fleet converges. Then: every builder is
RUNNING on the latest agent, the state file holds no operation or notice (and held no more
than max_concurrent of them at any kill), nothing was logged at error level (but the failed saves of the
hostile run), every Stop and Start arrived while the state file named its intent (the fake
reads it at each call), and each builder had exactly one accepted Stop and one accepted
Start (the fake's call log).

The kill instants come from a seeded RNG; the seed is printed, and RANDOM_KILL_SEED=<seed>
replays the same instants (the daemon's own timing still varies from run to run).
RANDOM_KILL_COUNT changes the number of kills (default 70)."""

import collections
import datetime
import json
import os
import random
import time

import pytest

from reconciler import (Daemon, DiskFlapper, SmallFs, assert_write_ahead, base_config,
                        client_env)

OLD = "06-19-2023"
FLEET = 20
CONCURRENT = 3
DURATIONS = {"stopping": 0.4, "pending": 0.3, "updating_agent": 0.3}
# The short form by default; `scripts/test --long` (TEST_LONG=1) runs the long campaign.
KILLS = int(os.environ.get("RANDOM_KILL_COUNT") or (200 if os.environ.get("TEST_LONG") else 40))
SEED = int(os.environ.get("RANDOM_KILL_SEED") or time.time_ns() % 2**32)
LONGEST_RUN = 1.3  # seconds; one poll is 1 s


def next_version(version):
    day = datetime.datetime.strptime(version, "%m-%d-%Y") + datetime.timedelta(days=1)
    return day.strftime("%m-%d-%Y")


class Campaign:
    def __init__(self, fake, tmp_path):
        self.fake = fake
        self.dir = tmp_path
        fake.config(durations=DURATIONS, watch_state=str(tmp_path / "state" / "state.json"))
        self.latest = fake.config()["latest_version"]
        self.fleet = fake.generate(FLEET, prefix="rk-", version=OLD)
        self.names = list(self.fleet)
        self.releases = 1
        # A notice and a settle put two more phases under the kills: announced (a notice on
        # disk, nothing stopped yet) and settling (updated, not yet counted).
        self.cfg = base_config(fake, tmp_path, reconciler={
            "max_concurrent": CONCURRENT, "poll_interval": "1s", "active_poll_interval": "1s"},
            policy={"notice": "1s", "settle": "1s"})
        self.env = client_env(fake, tmp_path / "home")
        self.log_path = tmp_path / "daemon.log"

    def state(self):
        try:
            return json.loads((self.dir / "state" / "state.json").read_text())
        except FileNotFoundError:
            return {}

    def operations(self):
        return self.state().get("operations", [])

    def in_flight(self):
        """The phases holding a slot: each operation's, and ANNOUNCED for each notice."""
        st = self.state()
        return ([op["phase"] for op in st.get("operations", [])]
                + ["ANNOUNCED" for _ in st.get("notices", [])])

    def converged(self):
        fleet = {b["Name"]: (b["State"], b["AppstreamAgentVersion"])
                 for b in self.fake.builders()}
        return (fleet == {n: ("RUNNING", self.latest) for n in self.fleet}
                and self.in_flight() == [])

    def release_if_converged(self):
        """A new agent and a new fleet on the last one, once the fleet has caught up."""
        if not self.converged():
            return
        for n in self.fleet:
            self.fake.delete_builder(n)
        self.releases += 1
        self.fleet = self.fake.generate(FLEET, prefix=f"rk{self.releases}-",
                                        version=self.latest)
        self.names += self.fleet
        self.latest = next_version(self.latest)
        self.fake.config(latest_version=self.latest)

    def daemon(self):
        return Daemon(self.cfg, self.env, self.log_path)


@pytest.mark.time_limit(240)
@pytest.mark.parametrize("hostile", [False, True], ids=["calm", "full-disk-and-lagging-listings"])
def test_random_kills_strand_nothing_and_repeat_nothing(fake, tmp_path, capsys, hostile):
    with capsys.disabled():
        print(f"\n    [random-kill] seed {SEED} (RANDOM_KILL_SEED={SEED} replays it), "
              f"{KILLS} kills{', hostile' if hostile else ''}")
    c = Campaign(fake, tmp_path)
    if not hostile:
        campaign(c, capsys)
        return
    fake.add_fault("drop", probability=0.1)
    with SmallFs(tmp_path / "state") as fs:
        flapper = DiskFlapper(fs, random.Random(SEED + 1))

        def calm():
            flapper.stop()
            fake.clear_faults()

        with flapper:
            campaign(c, capsys, calm_end=calm)
    with capsys.disabled():
        print(f"    [random-kill] the state directory filled up {flapper.fills} times; "
              f"{sum(c['outcome'] == 'drop' for c in fake.calls())} listings left one out")


def campaign(c, capsys, calm_end=lambda: None):
    """The kills, then a last undisturbed daemon (after calm_end()), then the checks."""
    fake = c.fake
    rng = random.Random(SEED)
    at_kill = collections.Counter()
    most_in_flight = 0
    started = time.monotonic()
    for _ in range(KILLS):
        c.release_if_converged()
        d = c.daemon()
        try:
            time.sleep(rng.uniform(0.0, LONGEST_RUN))
            assert d.proc.poll() is None, f"the daemon exited:\n{c.log_path.read_text()[-3000:]}"
        finally:
            d.kill()
        ops = c.in_flight()
        most_in_flight = max(most_in_flight, len(ops))
        at_kill.update(ops)
        if not ops:
            at_kill["(none in flight)"] += 1

    calm_end()
    final = c.daemon()
    try:
        deadline = time.monotonic() + 90
        while not c.converged() and time.monotonic() < deadline:
            assert final.proc.poll() is None
            time.sleep(0.1)
        assert c.converged(), f"{c.fake.builders()}\n{c.operations()}"
        assert final.stop(timeout=15) == 0
    finally:
        final.kill()
    elapsed = time.monotonic() - started

    log = c.log_path.read_text()
    assert most_in_flight <= CONCURRENT
    # The new phases were hit too, or the campaign did not test them.
    assert at_kill["ANNOUNCED"] and at_kill["SETTLING"], at_kill
    assert [line for line in log.splitlines() if line.startswith("error:")
            and "cannot write" not in line and "saving state file" not in line] == []
    assert_write_ahead(fake)
    accepted = collections.Counter()
    for call in fake.calls():
        if call["outcome"] == "OK" and call["operation"] in ("StopImageBuilder",
                                                             "StartImageBuilder"):
            accepted[call["operation"], call["names"][0]] += 1
    for n in c.names:
        assert accepted["StopImageBuilder", n] == 1, (n, accepted)
        assert accepted["StartImageBuilder", n] == 1, (n, accepted)
    with capsys.disabled():
        print(f"    [random-kill] {KILLS} kills over {c.releases} agent releases of {FLEET} "
              f"builders in {elapsed:.0f} s; operations on disk at the kills: "
              f"{dict(sorted(at_kill.items()))}; resumed operations: "
              f"{log.count('resuming the update of builder')}; every builder converged with "
              f"one Stop and one Start")
