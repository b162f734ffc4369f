"""Fault storms against a running daemon (`run`) in the middle of a fleet update.

Most tests let the daemon stop the first builders of a fleet, hold them STOPPED (their Start
is refused for a moment), then turn a fault on for every API call: 5xx bursts, resets,
garbled or oversized answers, an answer slower than the request timeout, a name that does not
resolve, a certificate from the wrong CA, the API gone altogether (its port refused). Others
throttle half of all calls from the start, or garble only the answers to Stop and Start, or
lose those answers after the calls were carried out. The outcome asserted is the same for
every fault:

* while it lasts the daemon logs a clear error naming what failed, and stays alive;
* once it ends, every builder converges (RUNNING on the latest agent), the state file holds no
  operation, and no builder was stopped or started more often than its update needs (one
  accepted Stop and one accepted Start, from the fake's call log);
* SIGTERM then ends the daemon promptly with exit code 0 (no hang, no handle left open).

Builder transitions take a fraction of a second (real-time fake clock) and the daemon polls
every second, so a fault of a few seconds spans several passes."""

import collections
import json
import os
import subprocess
import time

import pytest

from fake_appstream.control import FakeAppStream
from fake_appstream.tls import ensure_certificates
from reconciler import BIN, Daemon, accepted, base_config, client_env, phases, wait_until

OLD = "06-19-2023"
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}
FLEET = 4
CONCURRENT = 2
FAULT_SECONDS = 3.0
MUTATING = ("StopImageBuilder", "StartImageBuilder")
LEFT_OPEN = "event loop closed with handles still open"


class Storm:
    """A fleet on one fake (or on several in turn, when a test replaces the fake) and the
    daemon updating it. The call logs of replaced fakes are kept, so that the Stop and Start
    counts cover the whole run."""

    def __init__(self, fake, tmp_path, fleet=FLEET, concurrent=CONCURRENT, durations=FAST,
                 **env):
        self.fake = fake
        self.tmp_path = tmp_path
        self.concurrent = concurrent
        self.earlier_calls = []
        fake.config(durations=durations)
        self.latest = fake.config()["latest_version"]
        self.names = fake.generate(fleet, prefix="storm-", version=OLD)
        self.cfg = base_config(fake, tmp_path, reconciler={
            "max_concurrent": concurrent, "poll_interval": "1s", "active_poll_interval": "1s"})
        self.env = client_env(fake, tmp_path / "home", **env)
        self.daemon = None

    # ---- the daemon -------------------------------------------------------------------

    def start(self, daemon=None):
        self.daemon = daemon or Daemon(self.cfg, self.env, self.tmp_path / "daemon.log")
        return self.daemon

    def log(self):
        return self.daemon.log()

    def assert_alive(self):
        assert self.daemon.proc.poll() is None, f"the daemon died:\n{self.log()[-3000:]}"

    def wait_for_log(self, *fragments, timeout=20.0):
        """Waits until one line of the log holds every fragment; returns that line."""
        def found():
            for line in self.log().splitlines():
                if all(f in line for f in fragments):
                    return line
            self.assert_alive()
            return None
        return wait_until(found, timeout=timeout, what=f"a log line with {fragments}")

    # ---- what the fleet and the state show ----------------------------------------------

    def phases(self):
        return phases(self.tmp_path)

    def states(self):
        return {b["Name"]: (b["State"], b["AppstreamAgentVersion"]) for b in self.fake.builders()}

    def hold_starts(self):
        """Refuses every Start, so that builders the daemon stops stay STOPPED."""
        self.fake.add_fault("throttle", operations=["StartImageBuilder"], probability=1.0)

    def wait_stopped_by_us(self):
        """Waits until max_concurrent builders of operations in the state file show STOPPED;
        returns their names."""
        def stopped():
            ops, states = self.phases(), self.states()
            names = sorted(n for n in ops if states[n][0] == "STOPPED")
            self.assert_alive()
            return names if len(names) >= self.concurrent else None
        return wait_until(stopped, what="builders STOPPED by the daemon")

    def all_calls(self):
        return self.earlier_calls + self.fake.calls()

    # ---- the outcome ---------------------------------------------------------------------

    def converged(self):
        self.assert_alive()
        return (self.states() == {n: ("RUNNING", self.latest) for n in self.names}
                and self.phases() == {})

    def assert_converges(self, timeout=30.0):
        try:
            wait_until(self.converged, timeout=timeout, what="every builder updated")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nbuilders: {self.states()}\nstate: {self.phases()}\n"
                                 f"log:\n{self.log()[-4000:]}") from None
        accepted = collections.Counter()
        for c in self.all_calls():
            if c["operation"] in MUTATING and c["outcome"] == "OK":
                for n in c["names"]:
                    accepted[c["operation"], n] += 1
        for n in self.names:
            assert accepted["StopImageBuilder", n] == 1, (n, accepted)
            assert accepted["StartImageBuilder", n] == 1, (n, accepted)

    def assert_stops_cleanly(self):
        self.assert_alive()
        code = self.daemon.stop(timeout=15)
        assert code == 0, self.log()[-3000:]
        assert LEFT_OPEN not in self.log()


@pytest.fixture
def storms():
    """Daemons of the test; any still running at its end are killed."""
    started = []
    yield started
    for s in started:
        if s.daemon:
            s.daemon.kill()


def mid_update(storm):
    """Starts the daemon and returns once it holds max_concurrent builders STOPPED."""
    storm.hold_starts()
    storm.start()
    return storm.wait_stopped_by_us()


def fault_during_update(storm, kind, fragments, **options):
    """The common course: mid-update, `kind` on every call for FAULT_SECONDS, then off."""
    stopped = mid_update(storm)
    storm.fake.clear_faults()
    storm.fake.add_fault(kind, probability=1.0, **options)
    started = time.monotonic()
    line = storm.wait_for_log(*fragments)
    time.sleep(max(0.0, FAULT_SECONDS - (time.monotonic() - started)))
    storm.assert_alive()
    # Nothing the fault touched moved on: the builders we stopped are still STOPPED.
    assert all(storm.states()[n][0] == "STOPPED" for n in stopped)
    storm.fake.clear_faults()
    storm.assert_converges()
    storm.assert_stops_cleanly()
    return line


# ---- faults that the fake injects ------------------------------------------------------------


# Half a minute by default, the full minute in the long form (`scripts/test --long`).
STORM_SECONDS = 60 if os.environ.get("TEST_LONG") else 30


@pytest.mark.time_limit(150)
def test_half_of_all_calls_throttled_for_a_minute(fake, tmp_path, storms):
    # One attempt per call, so that every refusal reaches the reconciler: about half of the
    # passes fail and half of the Stops and Starts come back throttled. How the SDK retry layer
    # absorbs a storm is proven in test_aws_semantics.
    fake.config(seed=424242)
    storm = Storm(fake, tmp_path, fleet=6, durations={"stopping": 0.5, "pending": 0.5,
                                                      "updating_agent": 0.5},
                  AWS_MAX_ATTEMPTS=1)
    storms.append(storm)
    fake.add_fault("throttle", probability=0.5)
    storm.start()
    time.sleep(STORM_SECONDS)
    storm.assert_alive()
    calls = fake.calls()
    throttled = [c for c in calls if c["outcome"] == "ThrottlingException"]
    # About one call a second throughout, half of them refused.
    assert len(throttled) >= STORM_SECONDS / 3 and len(throttled) <= 0.7 * len(calls), (len(throttled), len(calls))
    fake.clear_faults()
    log = storm.log()
    assert "cannot describe image builders: DescribeImageBuilders failed: ThrottlingException" \
        in log
    assert any(line.startswith("warning:") and "will try again next poll" in line
               and "ThrottlingException" in line for line in log.splitlines())
    storm.assert_converges()
    storm.assert_stops_cleanly()


@pytest.mark.time_limit(90)
def test_bursts_of_5xx(fake, tmp_path, storms):
    storm = Storm(fake, tmp_path)
    storms.append(storm)
    mid_update(storm)
    fake.clear_faults()
    for kind, code in (("server_error", "InternalServerError"),
                       ("unavailable", "ServiceUnavailable")):
        fake.add_fault(kind, probability=1.0)
        storm.wait_for_log("cannot describe image builders", code, "after 3 attempts")
        fake.clear_faults()
        time.sleep(1.5)
    storm.assert_converges()
    storm.assert_stops_cleanly()


# Answers the daemon cannot use, on every call: no pass gets through and nothing moves on.
EVERY_CALL = {
    "reset": ({}, ["cannot describe image builders", "DescribeImageBuilders failed",
                   "after 3 attempts"]),
    "truncated": ({"mode": "body"}, ["cannot describe image builders", "InvalidResponse",
                                     "response is not valid JSON"]),
    "html": ({"status": 200}, ["cannot describe image builders", "InvalidResponse",
                               "response is not valid JSON"]),
    "oversize": ({"size": 9 << 20}, ["cannot describe image builders",
                                     "larger than the size limit"]),
}


@pytest.mark.parametrize("fault", list(EVERY_CALL))
def test_unusable_answers_to_every_call(fake, tmp_path, storms, fault):
    options, fragments = EVERY_CALL[fault]
    storm = Storm(fake, tmp_path)
    storms.append(storm)
    fault_during_update(storm, fault.split("-")[0], fragments, **options)


@pytest.mark.parametrize("fault", ["truncated", "html"])
def test_garbled_answers_to_stop_and_start(fake, tmp_path, storms, fault):
    # From the first call on, every Stop and Start gets a 200 whose body is not the API's and
    # is not carried out; the describes are fine, so the daemon acts on what it sees and must
    # not take such an answer for an accepted call.
    storm = Storm(fake, tmp_path)
    storms.append(storm)
    fake.add_fault(fault, operations=list(MUTATING), probability=1.0)
    storm.start()
    storm.wait_for_log("will try again next poll",
                       "StopImageBuilder failed: InvalidResponse (HTTP 200)")
    time.sleep(FAULT_SECONDS)
    storm.assert_alive()
    # No Stop was carried out, so no builder may be believed to be on its way.
    assert all(state == ("RUNNING", OLD) for state in storm.states().values())
    assert storm.phases() and set(storm.phases().values()) == {"STOP_INTENT"}
    fake.clear_faults()
    storm.assert_converges()
    storm.assert_stops_cleanly()


def test_stop_and_start_carried_out_but_their_answers_lost(fake, tmp_path, storms):
    # Every Stop and every Start is carried out, then the connection is reset instead of the
    # answer. The SDK retry that follows finds the builder already STOPPED (a stop takes no
    # time here) or already starting, and is refused: the daemon must learn from the builder
    # what happened, neither give up on it (which would strand it STOPPED) nor stop or start it
    # a second time.
    storm = Storm(fake, tmp_path, durations={"stopping": 0.0, "pending": 0.3,
                                             "updating_agent": 0.3})
    storms.append(storm)
    for name in storm.names:
        for operation in MUTATING:
            fake.add_fault("reset", operations=[operation], names=[name], execute=True)
    storm.start()
    wait_until(storm.converged, timeout=30, what="every builder updated")
    calls = fake.calls()
    for name in storm.names:
        for operation in MUTATING:
            mine = [c for c in calls if c["operation"] == operation and name in c["names"]]
            assert mine[0]["outcome"] == "reset", (name, operation, mine)
            # The lost call did the work: no later one was carried out.
            assert all(c["outcome"] != "OK" for c in mine), (name, operation, mine)
    assert "StopImageBuilder failed: OperationNotPermittedException" in storm.log()
    assert "giving up" not in storm.log()
    storm.assert_stops_cleanly()


def test_a_stop_refused_because_an_unseen_sending_already_stopped_the_builder(fake, tmp_path,
                                                                             storms):
    # libcurl sends a request again, on a fresh connection, when a reused connection dies
    # before any answer. If the first sending was carried out, the second is refused (the
    # builder is STOPPED already), at what the daemon counts as its first attempt. Emulated
    # here: while the daemon's Stop is held at the fake, the builder is stopped, so the Stop is
    # refused at the first attempt. Giving up would strand the builder STOPPED (I3).
    storm = Storm(fake, tmp_path, fleet=1, concurrent=1, AWS_MAX_ATTEMPTS=1)
    storms.append(storm)
    (name,) = storm.names
    fake.add_fault("slow", operations=["StopImageBuilder"], delay=1.0)
    storm.start()
    wait_until(lambda: fake.faults() == [], what="the Stop held at the fake")
    fake.set_state(name, "STOPPED")
    storm.wait_for_log("will try again next poll", "OperationNotPermittedException")
    wait_until(storm.converged, timeout=30, what="the builder updated")
    stops = [c["outcome"] for c in fake.calls("StopImageBuilder")]
    assert stops == ["OperationNotPermittedException"], stops
    assert len(accepted(fake, "StartImageBuilder", name)) == 1
    assert "giving up" not in storm.log()
    storm.assert_stops_cleanly()


# ---- faults of the network and of the service as a whole -------------------------------------


@pytest.fixture
def fakes(tmp_path):
    """Dedicated fakes a test starts, stops and replaces; all stopped at its end."""
    started = []

    def start(tls_dir, port=0, name="fake", args=()):
        server = FakeAppStream.start(tmp_path / f"{name}-{len(started)}", tls_dir=tls_dir,
                                     args=("--port", str(port), *args))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def export_fleet(fake):
    """The fleet as builder specs another fake accepts; only settled builders (no transition
    under way, which a new fake could not carry on) are exported."""
    specs = []
    for b in fake.builders():
        assert b["_fake"]["transitions"] == [], b
        spec = {k: v for k, v in b.items()
                if k not in ("_fake", "Arn", "LatestAppstreamAgentVersion")}
        spec.update(b["_fake"]["knobs"])
        specs.append(spec)
    return specs


def take_down(storm):
    """Stops the storm's fake, keeping its call log; returns what a successor needs."""
    old = storm.fake
    outage = {"port": int(old.url.rsplit(":", 1)[1]), "fleet": export_fleet(old),
              "durations": old.config()["durations"]}
    storm.earlier_calls += old.calls()
    old.stop()
    return outage


def bring_back(storm, start, tls_dir, outage, name):
    """A new fake on the old one's port, with its fleet and durations from its first answer:
    one that opened its port empty would tell a daemon polling it that the builders it
    stopped no longer exist (and it would rightly give them up); returns it."""
    fleet = storm.tmp_path / f"{name}-fleet.json"
    fleet.write_text(json.dumps(outage["fleet"]))
    d = outage["durations"]
    new = start(tls_dir, port=outage["port"], name=name, args=(
        "--builders-file", str(fleet), "--stopping-duration", str(d["stopping"]),
        "--pending-duration", str(d["pending"]), "--updating-duration", str(d["updating_agent"])))
    storm.fake = new
    return new


def hold_then_settle(storm):
    """Mid-update: builders STOPPED by the daemon and every builder settled."""
    stopped = mid_update(storm)
    wait_until(lambda: all(not b["_fake"]["transitions"] for b in storm.fake.builders()),
               what="every builder settled")
    return stopped


@pytest.mark.time_limit(90)
def test_the_api_vanishes_for_longer_than_an_update_takes(fake, tmp_path, storms, fakes):
    # The port is closed while the builders we stopped wait: every call is refused. An update
    # takes about a second of the fake's time and three polls; the API stays away for six.
    first = fakes(fake.tls_dir)
    storm = Storm(first, tmp_path)
    storms.append(storm)
    stopped = hold_then_settle(storm)
    phases_before = storm.phases()
    outage = take_down(storm)
    storm.wait_for_log("cannot describe image builders", "Couldn't connect to server")
    time.sleep(6)
    storm.assert_alive()
    # Nothing was given up meanwhile: every operation is still there.
    assert set(storm.phases()) == set(phases_before)
    back = bring_back(storm, fakes, fake.tls_dir, outage, "back")
    assert all(back.builder(n)["State"] == "STOPPED" for n in stopped)
    storm.assert_converges()
    storm.assert_stops_cleanly()


@pytest.mark.time_limit(90)
def test_a_certificate_from_the_wrong_ca(fake, tmp_path, storms, fakes):
    # The API is replaced for a while by a server whose certificate another CA signed (an
    # intercepting proxy, a wrong endpoint): the handshake fails and no request is sent.
    first = fakes(fake.tls_dir)
    storm = Storm(first, tmp_path)
    storms.append(storm)
    hold_then_settle(storm)
    foreign = tmp_path / "foreign-tls"
    ensure_certificates(foreign)
    impostor = bring_back(storm, fakes, foreign, take_down(storm), "impostor")
    storm.wait_for_log("cannot describe image builders", "SSL certificate problem")
    time.sleep(FAULT_SECONDS)
    storm.assert_alive()
    assert impostor.calls() == []
    bring_back(storm, fakes, fake.tls_dir, take_down(storm), "back")
    storm.assert_converges()
    storm.assert_stops_cleanly()


@pytest.mark.time_limit(90)
def test_an_answer_slower_than_the_request_timeout(fake, tmp_path, storms, fakes):
    # The daemon's request timeout is 30 s and nothing shortens it, so the describe is held
    # for 31 s. One attempt per call, so that the timeout reaches the log instead of being
    # retried away. A dedicated fake: the held request ends after the test has moved on.
    slow = fakes(fake.tls_dir)
    storm = Storm(slow, tmp_path, AWS_MAX_ATTEMPTS=1)
    storms.append(storm)
    stopped = mid_update(storm)
    slow.clear_faults()
    slow.add_fault("slow", operations=["DescribeImageBuilders"], delay=31.0)
    line = storm.wait_for_log("cannot describe image builders", "timed out", timeout=45)
    assert "DescribeImageBuilders failed" in line
    storm.assert_alive()
    assert all(storm.states()[n][0] == "STOPPED" for n in stopped)
    storm.assert_converges()
    storm.assert_stops_cleanly()


NAME = "appstream.fake.test"


def make_tls(directory, host):
    """A CA and a certificate for host and 127.0.0.1 signed by it, as the fake expects them."""
    directory.mkdir(parents=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
         "-subj", "/CN=fault storm CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign"],
        ["req", "-new", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj",
         f"/CN={host}"],
        ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "1", "-days", "2", "-extfile", "server.ext", "-out", "server.pem"],
    ]
    (directory / "server.ext").write_text(f"subjectAltName = DNS:{host}, IP:127.0.0.1\n")
    for args in steps:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


class NamespacedDaemon(Daemon):
    """The daemon in a private mount namespace whose /etc/hosts is the file `hosts`, which the
    test rewrites in place to make a name resolve or not (the same PID: unshare and sh exec)."""

    def __init__(self, config, env, log_path, hosts):
        script = 'mount --bind "$0" /etc/hosts && exec "$@"'
        super().__init__(config, env, log_path, argv=[
            "unshare", "--map-root-user", "--mount", "--propagation", "private",
            "sh", "-c", script, str(hosts), BIN, "-c", str(config), "run"])


@pytest.mark.time_limit(90)
def test_an_endpoint_whose_name_does_not_resolve(fake, tmp_path, storms, fakes):
    # A daemon stops the first builders and is stopped (SIGTERM hands the operations over);
    # the next one starts while the endpoint's name does not resolve, and must hold on to
    # them until it does. (A running daemon keeps its connection and curl's DNS cache for a
    # minute, so a name vanishing under it would not show within a test.)
    tls = tmp_path / "named-tls"
    make_tls(tls, NAME)
    api = fakes(tls)
    storm = Storm(api, tmp_path)
    storms.append(storm)
    stopped = mid_update(storm)
    assert storm.daemon.stop(timeout=15) == 0
    handed_over = storm.phases()
    assert set(stopped) <= set(handed_over)
    api.clear_faults()

    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    port = api.url.rsplit(":", 1)[1]
    storm.cfg.write_text(storm.cfg.read_text().replace(api.url, f"https://{NAME}:{port}"))
    storm.start(NamespacedDaemon(storm.cfg, storm.env, tmp_path / "named.log", hosts))
    storm.wait_for_log("cannot describe image builders", f"Could not resolve host: {NAME}")
    time.sleep(FAULT_SECONDS)
    storm.assert_alive()
    assert storm.phases() == handed_over
    assert all(storm.states()[n][0] == "STOPPED" for n in stopped)
    hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {NAME}\n")
    storm.assert_converges()
    assert storm.log().count("resuming the update of builder") == len(handed_over)
    storm.assert_stops_cleanly()


def test_a_garbled_answer_to_a_stop_is_reported_as_invalid(fake, tmp_path):
    fake.config(durations=FAST)
    fake.generate(1, prefix="garbled-", version=OLD)
    fake.add_fault("truncated", operations=["StopImageBuilder"], mode="body")
    cfg = base_config(fake, tmp_path, reconciler={"poll_interval": "1s"})
    d = Daemon(cfg, client_env(fake, tmp_path / "home"), tmp_path / "once.log", args=("once",))
    assert d.wait(timeout=30) == 0, d.log()
    (garbled,) = [c for c in fake.calls("StopImageBuilder") if c["fault"] == "truncated"]
    assert ("StopImageBuilder failed: InvalidResponse (HTTP 200): response is not valid JSON"
            in d.log())
    assert f"[request id {garbled['request_id']}]" in d.log()
