"""The daemon's side of the sd_notify protocol, read from a NOTIFY_SOCKET of our own while the
built daemon reconciles the fake AppStream: READY=1 first, STATUS= one line with compliant/
total, updates in flight and the next window, WATCHDOG=1 only when WATCHDOG_USEC is set,
RELOADING=1 (with MONOTONIC_USEC) then READY=1 around SIGHUP, and STOPPING=1 exactly once on
every way out: SIGTERM, `once` finishing, and a start-up that fails before READY=1."""
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

from checklib import BUILD_DIR, SOURCE_DIR, Checks

sys.path.insert(0, str(SOURCE_DIR / "tests"))
from fake_appstream.control import FakeAppStream  # noqa: E402

BINARY = BUILD_DIR / "appstream-agent-reconciler"
STATUS = re.compile(r"STATUS=(\d+)/(\d+) builders compliant, (\d+) updating, next window (.+)")


class Notifications:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def collect(self, until, timeout=30.0):
        """Receives until until(messages) is true; returns it (False on timeout)."""
        deadline = time.monotonic() + timeout
        while not until(self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                return False
        return True

    def close(self):
        self.sock.close()


def start(fake, work, notify, config, *args, watchdog_usec=None):
    env = fake.subprocess_env(work / "home", NOTIFY_SOCKET=notify.path,
                              AWS_EC2_METADATA_DISABLED="true")
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            env[name] = os.environ[name]
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    return subprocess.Popen([str(BINARY), "-c", str(config), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(work / "daemon.log", "ab"))


def write_config(fake, work, name="reconciler.conf", bad=False):
    path = work / name
    path.write_text("\n".join([
        "[aws]", f"region = {fake.region}", f"endpoint = {fake.url}", "",
        "[reconciler]", "poll_interval = 2s", "active_poll_interval = 1s",
        f"max_concurrent = {'lots' if bad else 2}", f"state_file = {work / 'state.json'}", "",
        "[policy]", "target = latest", "window = always", "min_window_left = 0s", ""]))
    return path


def has(prefix):
    return lambda messages: any(m.startswith(prefix) for m in messages)


def check_run(c, fake, work):
    """run: READY=1, STATUS=, WATCHDOG=1, a reload, SIGTERM."""
    notify = Notifications(work / "notify-run")
    config = write_config(fake, work)
    daemon = start(fake, work, notify, config, "run", watchdog_usec=400000)
    try:
        notify.collect(lambda m: any(STATUS.fullmatch(x) and STATUS.fullmatch(x).group(1) == "2"
                                     for x in m) and m.count("WATCHDOG=1") >= 2)
        c.check(notify.messages and notify.messages[0] == "READY=1",
                f"READY=1 comes first: {notify.messages[:2]}")
        statuses = [STATUS.fullmatch(m) for m in notify.messages if m.startswith("STATUS=")]
        c.check(statuses and all(statuses), f"every STATUS= is the one-line summary: "
                                            f"{[m for m in notify.messages if 'STATUS' in m]}")
        c.check(statuses and all(s and s.group(2) == "2" for s in statuses) and
                any(s and s.group(3) != "0" for s in statuses) and statuses[-1] and
                statuses[-1].group(1) == "2",
                "STATUS= follows the updates: 2 builders, some updating, then 2/2 compliant")
        c.check(notify.messages.count("WATCHDOG=1") >= 2, "WATCHDOG=1 with WATCHDOG_USEC set")

        before = len(notify.messages)
        daemon.send_signal(signal.SIGHUP)
        notify.collect(lambda m: "READY=1" in m[before:])
        reload = [m for m in notify.messages[before:] if not m.startswith(("WATCHDOG", "STATUS"))]
        c.check(len(reload) == 2 and re.fullmatch(r"RELOADING=1\nMONOTONIC_USEC=\d+", reload[0])
                and reload[1] == "READY=1",
                f"SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1: {reload}")

        daemon.send_signal(signal.SIGTERM)
        status = daemon.wait(timeout=30)
        notify.collect(lambda m: False, timeout=0.5)
        c.check(status == 0, f"SIGTERM: exit 0 ({status})")
        c.check(notify.messages.count("STOPPING=1") == 1 and notify.messages[-1] == "STOPPING=1",
                f"STOPPING=1 once, last: {notify.messages[-3:]}")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        notify.close()


def check_once_and_no_watchdog(c, fake, work):
    """once: no WATCHDOG_USEC, no WATCHDOG=1; STOPPING=1 when it finishes by itself."""
    fake.generate(1, prefix="late-", version="06-19-2023")
    notify = Notifications(work / "notify-once")
    daemon = start(fake, work, notify, write_config(fake, work), "once")
    try:
        status = daemon.wait(timeout=60)
        notify.collect(lambda m: False, timeout=0.5)
        c.check(status == 0, f"once: exit 0 ({status})")
        c.check("WATCHDOG=1" not in notify.messages, "no WATCHDOG=1 without WATCHDOG_USEC")
        c.check(notify.messages[:1] == ["READY=1"] and notify.messages.count("STOPPING=1") == 1
                and notify.messages[-1] == "STOPPING=1",
                f"once: READY=1 ... STOPPING=1 once at the end: {notify.messages}")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        notify.close()


def check_failed_start(c, fake, work):
    """A start-up that fails after the configuration is read (the state is locked by another
    daemon): no READY=1, and STOPPING=1 all the same."""
    holder_notify = Notifications(work / "notify-holder")
    holder = start(fake, work, holder_notify, write_config(fake, work), "run")
    notify = Notifications(work / "notify-second")
    try:
        holder_notify.collect(has("READY=1"))
        second = start(fake, work, notify, write_config(fake, work, "second.conf"), "run")
        status = second.wait(timeout=30)
        notify.collect(lambda m: False, timeout=0.5)
        c.check(status == 2, f"a second daemon on the same state exits 2 ({status})")
        c.check(notify.messages == ["STOPPING=1"],
                f"it never sends READY=1 but does send STOPPING=1: {notify.messages}")
    finally:
        holder.send_signal(signal.SIGTERM)
        holder.wait(timeout=30)
        notify.close()
        holder_notify.close()


def main():
    c = Checks("check_notify")
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        fake = FakeAppStream.start(work / "fake", args=(
            "--builders", "2", "--old-version", "06-19-2023", "--stopping-duration", "0.5",
            "--pending-duration", "0.5", "--updating-duration", "0.5"))
        try:
            check_run(c, fake, work)
            check_once_and_no_watchdog(c, fake, work)
            check_failed_start(c, fake, work)
        finally:
            fake.stop()
            log = work / "daemon.log"
            if c.failed and log.exists():
                print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
