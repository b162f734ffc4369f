"""The HA lease on the event loop (lease_run.h, through tool_lease) against dynalite, an
independent implementation of DynamoDB (tests/dynalite_server.py): two hosts on one lease of
2 s, judged only from what the tools print and what the table holds.

  alone      the first host creates the lease and acts; a second one stays standby and never
             acts while the first renews, for several lease durations
  kill       the holder is killed (SIGKILL): the standby takes over within the lease plus one
             check (D + D/5) and a little, and not before the killed holder's time to act
             could have ended
  stop       the holder is frozen (SIGSTOP) for longer than the lease, then thawed: the standby
             took over meanwhile; the old holder reports LOST and never acted past its deadline
  term       the holder is stopped (SIGTERM): it releases, and the standby takes over well
             within a lease
  refused    the holder reaches DynamoDB through a proxy that goes away (connections cut,
             then refused): it stops acting by its deadline and reports LOST; the other host
             takes over after the lease
  blackhole  the same with a proxy that then accepts and never answers: every request of the
             holder gives up within its budget

Whether two hosts ever acted at once is computed from the tools' CLOCK_BOOTTIME readings (both
run on this machine, so their clocks are one): a host acts from its first status line with
may_act true until the first line with it false, and never beyond the latest deadline_ms it
printed (CLOCK_BOOTTIME after asking, plus act_left_ms); a host killed or frozen while acting
is held to the latest end its last renewal could give it (its last moment plus D/2). No
acting interval of one host may meet one of the other's."""
import json
import os
import pathlib
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from checklib import Tally, with_sanitizers

TESTS_DIR = pathlib.Path(os.environ.get("TESTS_DIR")
                         or pathlib.Path(__file__).resolve().parents[1])
sys.path.insert(0, str(TESTS_DIR))

from dynalite_server import DynaliteServer  # noqa: E402

TOOL = os.path.join(os.environ["BUILD_DIR"], "tool_lease")
D = 2000            # the lease, ms
ACT = D - D // 2    # how long a holder acts after its last good write was sent
BUDGET = D // 8     # one request's time at most (LEASE_RUN_BUDGET)
SLACK = D // 4      # timers, scheduling and the machine's load
check = Tally("check_lease")
failovers = {}


def boot_ms():
    """CLOCK_BOOTTIME in whole ms, as the tools print it."""
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME) // 1000000


class Host:
    """One tool_lease, its lines gathered as they come."""

    def __init__(self, db, key, name, endpoint=None):
        self.name = name
        self.lines, self.stderr = [], []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [TOOL, "--endpoint", endpoint or db.url, db.table, key, name, str(D)],
            env=with_sanitizers(db.env()), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.threads = [threading.Thread(target=self._read, args=(self.proc.stdout, True)),
                        threading.Thread(target=self._read, args=(self.proc.stderr, False))]
        for t in self.threads:
            t.start()

    def _read(self, pipe, out):
        for text in pipe:
            with self.lock:
                if not out:
                    self.stderr.append(text)
                    continue
                try:
                    self.lines.append(json.loads(text))
                except json.JSONDecodeError:
                    self.lines.append({"unparsed": text})

    def snapshot(self):
        with self.lock:
            return list(self.lines)

    def events(self, kind=None):
        return [ln for ln in self.snapshot() if "event" in ln and kind in (None, ln["event"])]

    def wait(self, pred, timeout):
        """The first line for which pred holds, waiting up to timeout s; None."""
        end = time.monotonic() + timeout
        while True:
            for ln in self.snapshot():
                if pred(ln):
                    return ln
            if time.monotonic() >= end or self.proc.poll() is not None:
                return next((ln for ln in self.snapshot() if pred(ln)), None)
            time.sleep(0.01)

    def wait_event(self, kind, timeout, after=0.0):
        return self.wait(lambda ln: ln.get("event") == kind and ln["boot_ms"] >= after, timeout)

    def signal(self, sig):
        at = boot_ms()
        self.proc.send_signal(sig)
        return at

    def finish(self, what, timeout=10.0, expect=0):
        """Waits for the tool to end; checks its status."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        check(status == expect, f"{what}: {self.name} exit status {status}, not {expect}: "
              f"{''.join(self.stderr)[-2000:]}")
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait()
        for t in self.threads:
            t.join()
        self.proc.stdout.close()
        self.proc.stderr.close()


def acting(host, frozen_at=None):
    """host's acting intervals [start, end) in CLOCK_BOOTTIME ms. An interval open when the
    host was killed or frozen at frozen_at ends no earlier than frozen_at + ACT: a renewal in
    its last moments may have gone unprinted."""
    intervals, cur = [], None
    for ln in host.snapshot():
        if "status" not in ln:
            continue
        if ln["may_act"]:
            if cur is None:
                cur = [ln["boot_ms"], ln["deadline_ms"]]
            cur[1] = max(cur[1], ln["deadline_ms"])
        elif cur is not None:
            # It said no at this moment (read before asking, to the ms): not later.
            cur[1] = min(cur[1], ln["boot_ms"] + 1)
            intervals.append(tuple(cur))
            cur = None
    if cur is not None:
        if frozen_at is not None and cur[0] <= frozen_at:
            cur[1] = max(cur[1], frozen_at + ACT)
        intervals.append(tuple(cur))
    return intervals


def check_no_overlap(what, a, b, a_frozen=None, b_frozen=None):
    ia, ib = acting(a, a_frozen), acting(b, b_frozen)
    both = [(x, y) for x in ia for y in ib if x[0] < y[1] and y[0] < x[1]]
    check(not both, f"{what}: {a.name} and {b.name} acted at once: {both} ({ia} / {ib})")
    return ia, ib


def first_act(host, after=0.0):
    ln = host.wait(lambda ln: ln.get("may_act") is True and ln["boot_ms"] >= after, 0)
    return ln["boot_ms"] if ln else None


def last_deadline(host, before):
    marks = [ln["deadline_ms"] for ln in host.snapshot()
             if ln.get("may_act") is True and ln["boot_ms"] <= before]
    return max(marks) if marks else None


def start_pair(db, key, what, a_endpoint=None):
    """host-a holding the lease, host-b standing by; None when that did not happen."""
    a = Host(db, key, "host-a", a_endpoint)
    got = a.wait_event("acquired", 10)
    check(got and got["reason"] == "no_item" and got["epoch"] == 1,
          f"{what}: host-a creates the lease {got} {a.snapshot()}")
    b = Host(db, key, "host-b")
    got = b.wait_event("standby", 10)
    check(got and got["reason"] == "held" and got["holder"] == "host-a",
          f"{what}: host-b stands by, seeing host-a {got} {b.snapshot()}")
    # Both ready: host-a renews a few times before anything happens to it, at a moment drawn
    # at random among the phases of its renewals and host-b's reads.
    pause = random.uniform(0.5, 1.0) * D
    print(f"{what}: {pause:.0f} ms after host-b stood by")
    time.sleep(pause / 1000)
    return a, b


# ---- the scenarios ----

def check_alone(db):
    what = "alone"
    a, b = start_pair(db, "lease#alone", what)
    try:
        time.sleep(D / 1000 * 4)
        ia, ib = check_no_overlap(what, a, b)
        check(len(ia) == 1 and not ib, f"{what}: host-a acted all along, host-b never "
              f"({ia} / {ib})")
        check(not a.events("lost") and len(b.events()) == 1,
              f"{what}: nothing else happened {a.events()} {b.events()}")
        renewals = len({ln["deadline_ms"] // 100 for ln in a.snapshot()
                        if ln.get("may_act") is True})
        check(renewals >= 4 * 4 - 2, f"{what}: host-a renewed every D/4 ({renewals} deadlines)")
        item = db.aws("get-item", "--key", '{"pk": {"S": "lease#alone"}}',
                      "--consistent-read").get("Item", {})
        check(item.get("holder") == {"S": "host-a"} and item.get("epoch") == {"N": "1"}
              and item.get("lease_ms") == {"N": str(D)} and "S" in item.get("rvn", {}),
              f"{what}: the item names host-a, epoch 1 {item}")
        a.signal(signal.SIGTERM)
        b.signal(signal.SIGTERM)
        a.finish(what)
        b.finish(what)
    finally:
        a.close()
        b.close()


def check_kill(db, key):
    what = f"kill ({key})"
    a, b = start_pair(db, key, what)
    try:
        killed = a.signal(signal.SIGKILL)
        a.finish(what, expect=-signal.SIGKILL)
        got = b.wait_event("acquired", (D * 2 + SLACK) / 1000, killed)
        took = got["boot_ms"] - killed if got else None
        check(got and took <= D + D / 5 + SLACK and got["reason"] == "held"
              and got["holder"] == "host-a" and got["epoch"] == 2,
              f"{what}: host-b takes over from host-a within {D + D / 5 + SLACK} ms: {took} "
              f"ms {got}")
        start, end = first_act(b, killed), last_deadline(a, killed)
        check(start is not None and end is not None and start >= end
              and start >= killed + ACT,
              f"{what}: host-b acts first at {start}, after host-a's deadline {end} and "
              f"{killed} + {ACT}")
        check_no_overlap(what, a, b, a_frozen=killed)
        failovers.setdefault("kill", []).append(took)
        b.signal(signal.SIGTERM)
        b.finish(what)
    finally:
        a.close()
        b.close()


def check_stop(db, key):
    what = f"stop ({key})"
    a, b = start_pair(db, key, what)
    try:
        stopped = a.signal(signal.SIGSTOP)
        got = b.wait_event("acquired", (D * 2 + SLACK) / 1000, stopped)
        took = got["boot_ms"] - stopped if got else None
        check(got and took <= D + D / 5 + SLACK and got["epoch"] == 2,
              f"{what}: host-b takes over while host-a is frozen: {took} ms {got}")
        time.sleep(max(0.0, (stopped + D * 1.5 - boot_ms()) / 1000))
        resumed = a.signal(signal.SIGCONT)
        lost = a.wait_event("lost", 5, resumed)
        check(lost and lost["reason"] in ("not_renewed", "taken") and lost["epoch"] == 1,
              f"{what}: host-a, thawed, reports the lease lost {lost} {a.events()}")
        standby = a.wait(lambda ln: ln.get("event") == "standby" and ln["boot_ms"] >= resumed,
                         5)
        check(standby and standby["holder"] == "host-b" and standby["epoch"] == 2,
              f"{what}: host-a then stands by, seeing host-b {standby}")
        end = last_deadline(a, stopped)
        late = [ln for ln in a.snapshot() if ln.get("may_act") is True
                and end is not None and ln["boot_ms"] >= end]
        check(end is not None and not late,
              f"{what}: host-a never may act past its deadline {end}: {late}")
        start = first_act(b, stopped)
        check(start is not None and end is not None and start >= end,
              f"{what}: host-b acts first at {start}, after host-a's deadline {end}")
        check_no_overlap(what, a, b, a_frozen=stopped)
        failovers.setdefault("stop", []).append(took)
        a.signal(signal.SIGTERM)
        b.signal(signal.SIGTERM)
        a.finish(what)
        b.finish(what)
    finally:
        a.close()
        b.close()


def check_term(db, key):
    what = f"term ({key})"
    a, b = start_pair(db, key, what)
    try:
        termed = a.signal(signal.SIGTERM)
        released = a.wait_event("released", 5, termed)
        check(released and released["reason"] == "released" and released["epoch"] == 1,
              f"{what}: host-a releases the lease {released} {a.events()}")
        a.finish(what)
        got = b.wait_event("acquired", D * 2 / 1000, termed)
        took = got["boot_ms"] - termed if got else None
        check(got and took < D / 2 and got["reason"] == "vacant" and got["epoch"] == 2,
              f"{what}: host-b takes over within {D / 2} ms of the release: {took} ms {got}")
        check_no_overlap(what, a, b)
        failovers.setdefault("term", []).append(took)
        b.signal(signal.SIGTERM)
        b.finish(what)
    finally:
        a.close()
        b.close()


class Proxy:
    """A TCP proxy to port on 127.0.0.1 that can be cut: "refuse" closes every connection
    and the port; "blackhole" closes every connection, then takes new ones and never
    answers."""

    def __init__(self, port):
        self.target = port
        self.mode = "forward"
        self.socks = []
        self.lock = threading.Lock()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.threads = [threading.Thread(target=self._accept)]
        self.threads[0].start()

    def _accept(self):
        while self.mode != "closed" and self.mode != "refuse":
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            conn.settimeout(None)
            with self.lock:
                if self.mode == "forward":
                    up = socket.create_connection(("127.0.0.1", self.target))
                    pairs = [(conn, up), (up, conn)]
                    self.socks += [conn, up]
                elif self.mode == "blackhole":
                    pairs = [(conn, None)]
                    self.socks.append(conn)
                else:
                    conn.close()
                    continue
                for src, dst in pairs:
                    t = threading.Thread(target=self._pump, args=(src, dst))
                    self.threads.append(t)
                    t.start()
        self.listener.close()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if dst is not None:
                    dst.sendall(data)
        except OSError:
            pass
        if dst is not None:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def cut(self, mode):
        with self.lock:
            self.mode = mode
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.cut("closed")
        for t in self.threads:
            t.join()


def check_unreachable(db, mode, key):
    what = f"unreachable, {mode} ({key})"
    proxy = Proxy(int(db.url.rsplit(":", 1)[1]))
    a = b = None
    try:
        a, b = start_pair(db, key, what, a_endpoint=proxy.url)
        cut = boot_ms()
        proxy.cut(mode)
        lost = a.wait_event("lost", (ACT + SLACK) / 1000 * 2, cut)
        end = last_deadline(a, boot_ms())
        check(lost and lost["reason"] == "not_renewed" and end is not None
              and lost["boot_ms"] <= end + SLACK,
              f"{what}: host-a reports the lease lost by its deadline {end}: {lost}")
        late = [ln for ln in a.snapshot() if ln.get("may_act") is True
                and ln["boot_ms"] >= (end or 0)]
        said_no = a.wait(lambda ln: ln.get("may_act") is False and ln["boot_ms"] >= cut, 0)
        check(not late and said_no and said_no["boot_ms"] <= end + SLACK,
              f"{what}: host-a stops acting by its deadline {end}: {said_no} {late}")
        errors = [ln["error"] for ln in a.snapshot() if "error" in ln and ln["boot_ms"] >= cut]
        check(errors and all("lease lease#" in e for e in errors),
              f"{what}: host-a says which requests failed {errors[:3]}")
        if mode == "blackhole":
            check(any(f"no answer within {BUDGET} ms" in e or "timed out" in e for e in errors),
                  f"{what}: host-a gives up on requests that hang {errors[:3]}")
        got = b.wait_event("acquired", (D * 2 + SLACK) / 1000, cut)
        took = got["boot_ms"] - cut if got else None
        check(got and got["epoch"] == 2 and took <= D + D / 5 + SLACK,
              f"{what}: host-b takes over after the lease: {took} ms {got}")
        start = first_act(b, cut)
        check(start is not None and end is not None and start >= end,
              f"{what}: host-b acts first at {start}, after host-a's deadline {end}")
        check_no_overlap(what, a, b)
        failovers.setdefault(mode, []).append(took)
        a.signal(signal.SIGTERM)
        b.signal(signal.SIGTERM)
        a.finish(what)
        b.finish(what)
    finally:
        for h in (a, b):
            if h:
                h.close()
        proxy.close()


def main():
    # More rounds of the failovers (CHECK_LEASE_ROUNDS) for their times' spread.
    rounds = int(os.environ.get("CHECK_LEASE_ROUNDS", "1"))
    with DynaliteServer() as db:
        check_alone(db)
        for n in range(rounds):
            check_kill(db, f"lease#kill{n}")
            check_stop(db, f"lease#stop{n}")
            check_term(db, f"lease#term{n}")
            check_unreachable(db, "refuse", f"lease#refuse{n}")
            check_unreachable(db, "blackhole", f"lease#blackhole{n}")
    for name, times in failovers.items():
        ok = [t for t in times if t is not None]
        if ok:
            print(f"failover after {name}: median {statistics.median(ok):.0f} ms, worst "
                  f"{max(ok):.0f} ms over {len(ok)}")
    return check.summary()


if __name__ == "__main__":
    sys.exit(main())
