"""What the benchmarks share (bench/run, bench/org_run): processes spawned and measured (CPU
from schedstat, memory from status and smaps_rollup, GNU time for peaks), the NOTIFY_SOCKET a
daemon reports to, the set-up of the tools and the build, fakes started from tests/."""

import os
import pathlib
import platform
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fake_appstream.control import FakeAppStream  # noqa: E402

PYTHON = "/usr/bin/python3"
GNU_TIME = "/usr/bin/time"


# ---- processes ------------------------------------------------------------------------

def cpu_ns(pid):
    """CPU time of every live thread of pid, in nanoseconds (schedstat: exact, not ticks)."""
    total = 0
    for task in pathlib.Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def process_cpu_ns(pid):
    """CPU time of pid, threads that have ended included (/proc/PID/stat, user and system, in
    clock ticks): for a server that runs a thread per connection."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def memory_kb(pid):
    """VmRSS, VmHWM and RssAnon from status; USS (private pages) and PSS (each shared page
    divided among the processes mapping it) from smaps_rollup."""
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
            out[key] = int(value.split()[0])
    uss = 0
    for line in pathlib.Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Private_Clean", "Private_Dirty"):
            uss += int(value.split()[0])
        elif key == "Pss":
            out["PSS"] = int(value.split()[0])
    out["USS"] = uss
    return out


def finish(proc, timeout):
    """Waits for proc; returns (exit status, wall-clock seconds since it was spawned)."""
    try:
        status = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"{proc.args[0]} did not finish within {timeout} s") from None
    return status, time.monotonic() - proc.spawned_at


def spawn(args, env, log=None, stdout=subprocess.DEVNULL, usage=None):
    """Starts args; with usage (a path), under GNU time writing "user system maxrss-KiB" there.
    GNU time, a small C program, is the parent that sees the real peak: a child forked from
    this Python process would report this process's size as its own until it execs."""
    if usage:
        args = [GNU_TIME, "-f", "%U %S %M", "-o", usage, *args]
    proc = subprocess.Popen([str(a) for a in args], env=env, stdin=subprocess.DEVNULL,
                            stdout=stdout, stderr=log or subprocess.DEVNULL)
    proc.spawned_at = time.monotonic()
    return proc


def usage_of(path):
    """(CPU seconds, max RSS KiB) from a GNU time file written by spawn(usage=path)."""
    user, system, maxrss = pathlib.Path(path).read_text().split()[-3:]
    return float(user) + float(system), int(maxrss)


class Notify:
    """The NOTIFY_SOCKET a daemon reports to: READY=1, then STATUS= once per pass. A thread
    drains it so that the sender never waits on a full queue; each message is kept with the
    time it arrived and the sender's CPU time then. With senders=True, one socket serves many
    daemons: the kernel tells each message's sender (SO_PASSCRED), and by_pid keeps
    (time, line) per sending process."""

    def __init__(self, path, senders=False):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if senders:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.senders = senders
        self.by_pid = {}
        self.pid = None
        self.messages = []
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self):
        while not self.closed:
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            sender = None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = struct.unpack("iII", value[:12])[0]
            cpu = None
            if self.pid:
                try:
                    cpu = cpu_ns(self.pid)
                except OSError:
                    pass
            with self.cond:
                for line in data.decode(errors="replace").splitlines():
                    self.messages.append((now, cpu, line))
                    if self.senders:
                        self.by_pid.setdefault(sender, []).append((now, line))
                self.cond.notify_all()

    def wait_for(self, predicate, count, timeout):
        """Waits until count messages satisfy predicate; returns them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [m for m in self.messages if predicate(m[2])]
                if len(found) >= count:
                    return found[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"only {len(found)} of {count} notifications in {timeout} s")
                self.cond.wait(left)

    def passes(self):
        with self.cond:
            return [m for m in self.messages if m[2].startswith("STATUS=")]

    def close(self):
        self.closed = True
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)


def prepare(args):
    if not args.no_install:
        subprocess.run([ROOT / "scripts" / "install-deps"], check=True)
        ensure_boto3()
    if not args.bin:
        subprocess.run([ROOT / "scripts" / "build", "plain"], check=True)
        args.bin = str(ROOT / "build" / "appstream-agent-reconciler")


def ensure_boto3():
    """The baseline needs Debian's python3-boto3; the tests do not, so only the runner
    installs it."""
    probe = subprocess.run([PYTHON, "-c", "import boto3"], capture_output=True)
    if probe.returncode == 0:
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                           "python3-boto3"], check=True, env=env)


def start_fake(work, name, *args):
    return FakeAppStream.start(work / name, args=[str(a) for a in args], tls_dir=work / "tls")


def median(values):
    return statistics.median(values) if values else float("nan")


def machine():
    model = "unknown CPU"
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = int(pathlib.Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return f"{model}, {os.cpu_count()} cores, {mem} GiB, Linux {platform.release()}"
