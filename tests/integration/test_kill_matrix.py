"""The kill matrix: SIGKILL the daemon at each phase of an update, several times per phase,
then run `once` to completion and check that nothing was stranded and nothing done twice.

The fake runs on its manual clock, so a builder stays in a phase until the test moves time on:
each kill lands exactly where it is meant to. Some kills also hold a call at the fake (a
throttle that refuses it, or a slow answer that the fake carries out after the daemon has
died), to cover "intent on disk, call never made" and "call made, answer never seen". The
restarted daemon runs while a Ticker moves the clock forward.

For every kill: every builder ends RUNNING (STOPPED with stopped = update-and-stop) on the
latest agent, the state file holds no operation, and the call log shows exactly one accepted
Stop and one accepted Start per builder.

The hostile kills (one per phase) keep the state directory on a small file system that fills
up and frees again at random instants while `once` recovers, with describe listings that leave
out a random builder now and then; every Stop and Start must still arrive while the state
file names its intent (the fake reads it at each call)."""

import collections
import random

import pytest

from reconciler import (Daemon, DiskFlapper, SmallFs, Ticker, accepted, assert_write_ahead,
                        base_config, client_env, phases, read_state, run, wait_until)

OLD = "06-19-2023"
BUILDERS = 2  # in the update when the daemon is killed (max_concurrent)

# phase -> one variant per kill; "+waiting" adds a builder that waits for a slot meanwhile
PHASES = {
    "before-stop": ["throttled", "slow", "throttled", "throttled+waiting"],
    "after-stop": ["plain", "plain", "plain", "plain+waiting"],
    "while-stopped": ["plain", "throttled", "slow", "plain+waiting"],
    "after-start": ["plain", "plain", "plain", "plain+waiting"],
    "updating-agent": ["plain", "plain", "plain", "plain+waiting"],
    "re-stop": ["plain", "throttled", "stopped-again", "plain+waiting"],
    "announced": ["plain", "plain", "plain+waiting"],
    "settling": ["plain", "plain", "plain+waiting"],
}
# The daemon's own clock, not the fake's, measures these: long enough that the kill lands
# inside them, short enough that recovery waits little.
NOTICE = "6s"
SETTLE = "4s"

OUTCOMES = collections.defaultdict(list)


class Run:
    """One kill: a fresh fleet and state directory, the daemon, and the way to the phase."""

    def __init__(self, fake, tmp_path, phase, index, waiting):
        self.fake = fake
        self.dir = tmp_path / f"{phase}-{index}"
        self.dir.mkdir()
        self.restop = phase == "re-stop"
        self.phase = phase
        fake.reset()
        fake.config(manual_clock=True)
        self.durations = fake.config()["durations"]
        self.latest = fake.config()["latest_version"]
        self.names = fake.generate(BUILDERS + waiting, prefix=f"k{index}-", version=OLD,
                                   state="STOPPED" if self.restop else "RUNNING")
        policy = {"stopped": "update-and-stop"} if self.restop else {}
        if phase == "announced":
            policy["notice"] = NOTICE
        if phase == "settling":
            policy["settle"] = SETTLE
        self.cfg = base_config(fake, self.dir, reconciler={"max_concurrent": BUILDERS},
                               policy=policy)
        self.env = client_env(fake, self.dir / "home", AWS_MAX_ATTEMPTS=1)
        self.daemon = None

    def phases(self):
        return phases(self.dir)

    def notices(self):
        return (read_state(self.dir) or {}).get("notices", [])

    def wait_phase(self, *wanted):
        wait_until(lambda: len(self.phases()) == BUILDERS
                   and set(self.phases().values()) <= set(wanted), what=f"phase {wanted}")

    def wait_held(self, variant, operation):
        """Waits until every builder's call is held at the fake (refused, or answering
        slowly: the slow fault is used up once each call has reached it)."""
        if variant == "throttled":
            wait_until(lambda: len([c for c in self.fake.calls(operation)
                                    if c["fault"] == "throttle"]) >= BUILDERS,
                       what=f"refused {operation} calls")
        elif variant == "slow":
            wait_until(lambda: not self.fake.faults(), what=f"slow {operation} calls")

    def hold(self, variant, operation):
        """Arrange for the next calls of operation to be held (throttled or slow)."""
        if variant == "throttled":
            self.fake.add_fault("throttle", operations=[operation], count=1000)
        elif variant == "slow":
            self.fake.add_fault("slow", operations=[operation], delay=1.0, count=BUILDERS)

    def start(self):
        self.daemon = Daemon(self.cfg, self.env, self.dir / "killed.log")

    def advance(self, *durations):
        self.fake.advance(sum(self.durations[d] for d in durations) + 0.1)

    def kill(self):
        """SIGKILL; returns the phases on disk and the states of their builders just before."""
        ops = self.phases()
        ops.update({n["builder"]: "ANNOUNCED" for n in self.notices()})
        seen = (sorted(set(ops.values())),
                sorted({self.fake.builder(n)["State"] for n in ops}))
        self.daemon.kill()
        return seen

    def settle_slow_calls(self):
        """A slow call outlives the daemon: the fake carries it out after the kill. Wait for
        that before the restart, so no stale request is left in flight."""
        wait_until(lambda: len([c for c in self.fake.calls() if c["fault"] == "slow"])
                   >= BUILDERS, what="the slow calls")


def drive_to(r, phase, variant):
    """Starts the daemon and brings the update to the phase; returns once it is there."""
    if phase == "re-stop":
        return drive_to_restop(r, variant)
    if phase == "announced":
        r.start()
        wait_until(lambda: len(r.notices()) == BUILDERS, what="the announcements")
        r.announced = [n["builder"] for n in r.notices()]
        return
    if phase == "settling":
        r.start()
        r.wait_phase("STOPPING")
        r.advance("stopping")
        r.wait_phase("STARTING")
        r.advance("pending", "updating_agent")
        r.wait_phase("SETTLING")
        return
    if phase == "before-stop":
        r.hold(variant, "StopImageBuilder")
    r.start()
    if phase == "before-stop":
        r.wait_phase("STOP_INTENT")
        r.wait_held(variant, "StopImageBuilder")
        return
    r.wait_phase("STOPPING")
    if phase == "after-stop":
        return
    r.hold(variant, "StartImageBuilder")
    r.advance("stopping")
    if phase == "while-stopped":
        if variant != "plain":
            r.wait_phase("START_INTENT")
            r.wait_held(variant, "StartImageBuilder")
        return
    r.wait_phase("STARTING")
    if phase == "updating-agent":
        r.advance("pending")


def drive_to_restop(r, variant):
    r.start()
    r.wait_phase("STARTING")
    r.hold(variant, "StopImageBuilder")
    r.advance("pending", "updating_agent")
    if variant == "throttled":
        r.wait_phase("RESTOP_INTENT")
        r.wait_held(variant, "StopImageBuilder")
        return
    r.wait_phase("RESTOPPING")
    if variant == "stopped-again":
        r.advance("stopping")


def recover_and_check(r, variant, fs=None):
    r.fake.clear_faults()
    if variant == "slow":
        r.settle_slow_calls()
    if fs:
        r.fake.add_fault("drop", probability=0.2)
        with DiskFlapper(fs, random.Random(), longest=0.8) as flapper, Ticker(r.fake):
            once = run(["-c", str(r.cfg), "once"], r.env, timeout=90)
        r.fake.clear_faults()
        OUTCOMES["hostile"].append(f"{flapper.fills} fills")
        assert_write_ahead(r.fake)
    else:
        with Ticker(r.fake):
            once = run(["-c", str(r.cfg), "once"], r.env)
    assert once.returncode == 0, once.stderr
    # Announced updates had no operation yet: nothing to resume, and nothing announced twice.
    resumed = 0 if r.phase == "announced" else BUILDERS
    assert once.stderr.count("resuming the update of builder") == resumed
    for n in getattr(r, "announced", []):
        assert f"agent update of builder {n} announced" not in once.stderr, n
    final = "STOPPED" if r.restop else "RUNNING"
    for n in r.names:
        b = r.fake.builder(n)
        assert (b["State"], b["AppstreamAgentVersion"]) == (final, r.latest), n
        assert len(accepted(r.fake, "StopImageBuilder", n)) == 1, n
        assert len(accepted(r.fake, "StartImageBuilder", n)) == 1, n
    assert r.phases() == {} and r.notices() == []


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("phase", list(PHASES))
def test_kill_at_phase_then_restart_recovers(fake, tmp_path, capsys, phase):
    for index, kill in enumerate(PHASES[phase]):
        variant, waiting = kill.split("+")[0], kill.endswith("+waiting")
        r = Run(fake, tmp_path, phase, index, waiting)
        try:
            drive_to(r, phase, variant)
            ops, states = r.kill()
        finally:
            if r.daemon:
                r.daemon.kill()
        recover_and_check(r, variant)
        OUTCOMES[phase].append(f"{kill}: state {'/'.join(ops)}, builders "
                               f"{'/'.join(states)} -> recovered")
    with capsys.disabled():
        print(f"\nkill matrix, {phase}: {len(OUTCOMES[phase])} kills, "
              f"{len(OUTCOMES[phase])} recovered with one Stop and one Start per builder")
        for line in OUTCOMES[phase]:
            print(f"    {line}")


@pytest.mark.time_limit(180)
def test_kill_at_each_phase_then_recover_on_a_filling_disk_with_lagging_listings(
        fake, tmp_path, capsys):
    done = []
    for phase, kills in PHASES.items():
        variant = kills[0].split("+")[0]
        r = Run(fake, tmp_path, phase, "hostile", False)
        fake.config(watch_state=str(r.dir / "state" / "state.json"))
        with SmallFs(r.dir / "state") as fs:
            try:
                drive_to(r, phase, variant)
                r.kill()
            finally:
                if r.daemon:
                    r.daemon.kill()
            recover_and_check(r, variant, fs)
        done.append(f"{phase} ({variant}): {OUTCOMES['hostile'][-1]}")
    with capsys.disabled():
        print(f"\nkill matrix on a filling disk with lagging listings: {len(done)} kills "
              f"recovered with one Stop and one Start per builder, every call with its intent "
              f"on disk: {'; '.join(done)}")
