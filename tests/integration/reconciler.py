"""Running the real appstream-agent-reconciler binary from tests.

RECONCILER_BIN names the binary under test (scripts/test points it at the ASan+UBSan build);
without it the plain build in build/ is used. Configurations are written from keyword
sections so that each test states exactly the policy it relies on."""

import errno
import json
import os
import pathlib
import signal
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("RECONCILER_BIN") or str(ROOT / "build" / "appstream-agent-reconciler")
PLAIN_BIN = os.environ.get("RECONCILER_PLAIN_BIN") or str(ROOT / "build" / "appstream-agent-reconciler")

# Sanitizer settings travel with the child even though its environment is otherwise isolated.
PASSED_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


def client_env(fake, home, **overrides):
    """The isolated environment of a daemon talking to fake: its credentials, its CA, no
    instance metadata (so a missing credential never waits on 169.254.169.254)."""
    env = fake.subprocess_env(home, AWS_EC2_METADATA_DISABLED="true", **overrides)
    for name in PASSED_THROUGH:
        if name in os.environ and name not in overrides:
            env[name] = os.environ[name]
    return env


def write_config(path, sections):
    """Writes an INI file from {"section": {"key": value or [values]}}; returns its path."""
    lines = []
    for section, keys in sections.items():
        lines.append(f"[{section}]")
        for key, value in keys.items():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                lines.append(f"{key} = {v}")
        lines.append("")
    path = pathlib.Path(path)
    path.write_text("\n".join(lines))
    path.chmod(0o644)  # whatever the umask: the daemon refuses a file others may write
    return path


def base_config(fake, tmp_path, reconciler=None, policy=None, extra=None):
    """A configuration aimed at fake with a window that is always open and fast polling;
    reconciler/policy override or add keys, extra adds sections (e.g. [builder x])."""
    sections = {
        "aws": {"region": fake.region, "endpoint": fake.url},
        "reconciler": {"poll_interval": "5s", "active_poll_interval": "1s",
                       "max_concurrent": 2, "state_file": str(tmp_path / "state" / "state.json")},
        "policy": {"target": "latest", "window": "always", "min_window_left": "0s"},
    }
    sections["reconciler"].update(reconciler or {})
    sections["policy"].update(policy or {})
    sections.update(extra or {})
    (tmp_path / "state").mkdir(exist_ok=True)
    return write_config(tmp_path / "reconciler.conf", sections)


def run(args, env, timeout=60, binary=None):
    """Runs one command to completion; returns the CompletedProcess (text)."""
    return subprocess.run([binary or BIN, *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


class Daemon:
    """The daemon as a child process with its stderr captured to a file."""

    # What the daemon logs once its signal handlers are in place (`run`, `once`).
    STARTED = ("daemon started:", "reconciling once:")

    def __init__(self, config, env, log_path, args=("run",), preexec_fn=None, argv=None):
        """argv replaces the command line (a wrapper around the daemon, another build);
        by default it is BIN -c config args."""
        self.log_path = pathlib.Path(log_path)
        self._log = open(self.log_path, "ab")
        self._start_offset = self._log.tell()
        self.proc = subprocess.Popen(argv or [BIN, "-c", str(config), *args], env=env,
                                     stdout=self._log, stderr=self._log, preexec_fn=preexec_fn)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return True
            if self.proc.poll() is not None:
                return text in self.log()
            time.sleep(0.05)
        return False

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout=30.0):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        return self.wait()

    def started(self):
        """Whether this daemon (not an earlier one logging to the same file) said it started."""
        with open(self.log_path, "rb") as f:
            f.seek(self._start_offset)
            text = f.read().decode(errors="replace")
        return any(s in text for s in self.STARTED)

    def stop(self, timeout=30.0):
        """SIGTERM once the daemon has started, and its exit code. A signal that came before
        main() would meet no handler of ours (the daemon holds them pending from its first
        line on, but not before it runs), and the test would see the default death."""
        deadline = time.monotonic() + timeout
        while (self.proc.poll() is None and not self.started()
               and time.monotonic() < deadline):
            time.sleep(0.02)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(max(deadline - time.monotonic(), 1.0))


# ---- Shared by the daemon tests ------------------------------------------------------------

# Fake durations short enough for a whole update in about a second.
FAST = {"stopping": 0.3, "pending": 0.3, "updating_agent": 0.3}


def env_of(fake, tmp_path, **overrides):
    """client_env with one attempt per call: a refused call shows in the call log once."""
    return client_env(fake, tmp_path / "home", AWS_MAX_ATTEMPTS=1, **overrides)


def state_path(tmp_path):
    """Where base_config() puts the state file."""
    return tmp_path / "state" / "state.json"


def read_state(tmp_path):
    """The state file as JSON, or None while there is none."""
    try:
        return json.loads(state_path(tmp_path).read_text())
    except FileNotFoundError:
        return None


def phases(tmp_path):
    """{builder: phase} of the operations in the state file."""
    st = read_state(tmp_path) or {"operations": []}
    return {op["builder"]: op["phase"] for op in st["operations"]}


def accepted(fake, operation, name=None):
    """Calls of operation (for builder name) that the fake carried out."""
    return [c for c in fake.calls(operation) if c["outcome"] == "OK"
            and (name is None or name in c["names"])]


def max_overlap(intervals):
    """The most of {key: [start, end]} that overlap at one instant (an end of None: still
    open); at equal times an end counts before a start."""
    events = []
    for start, end in intervals.values():
        events += [(start, 1), (end if end is not None else float("inf"), -1)]
    level = peak = 0
    for _, delta in sorted(events):
        level += delta
        peak = max(peak, level)
    return peak


def wait_until(predicate, timeout=20.0, interval=0.03, what="condition"):
    """Polls predicate until it returns something true, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def start_daemon(daemons, cfg, env, tmp_path, *args):
    """Starts a daemon that the `daemons` fixture kills at the end of the test."""
    d = Daemon(cfg, env, tmp_path / f"daemon-{len(daemons)}.log", args=args or ("run",))
    daemons.append(d)
    return d


class Ticker:
    """Moves the fake's manual clock forward in the background, as time would pass."""

    def __init__(self, fake, step=1.0, interval=0.1):
        self.fake, self.step, self.interval = fake, step, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.interval):
            self.fake.advance(self.step)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def assert_write_ahead(fake, name=None):
    """Every Stop and Start (for name) arrived while the state file named its intent (I4);
    needs the fake's watch_state set to the state file."""
    intent = {"StopImageBuilder": ("STOP_INTENT", "RESTOP_INTENT"),
              "StartImageBuilder": ("START_INTENT",)}
    for call in fake.calls():
        if call["operation"] in intent and (name is None or name in call["names"]):
            on_disk = call["state_on_disk"]
            assert on_disk["error"] is None and on_disk["phase"] in intent[call["operation"]], \
                call


class SmallFs:
    """A 1 MiB tmpfs of its own mounted at path, so that a state directory can really fill up
    (ENOSPC) and free again; unmounted on exit. Needs root, as CI has."""

    def __init__(self, path):
        self.mount = pathlib.Path(path)
        self.filler = self.mount / "filler"

    def __enter__(self):
        if os.geteuid() != 0:
            raise RuntimeError("mounting a tmpfs needs root (CI runs as root)")
        self.mount.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs",
                        str(self.mount)], check=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", str(self.mount)], check=True)

    def fill(self):
        """Writes until the file system says ENOSPC."""
        with open(self.filler, "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise

    def free(self):
        self.filler.unlink(missing_ok=True)


class DiskFlapper:
    """Fills a SmallFs and frees it again at random intervals in the background."""

    def __init__(self, fs, rng, longest=1.5):
        self.fs, self.rng, self.longest = fs, rng, longest
        self.fills = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(self.rng.uniform(0.1, self.longest)):
            if self.fs.filler.exists():
                self.fs.free()
            else:
                self.fs.fill()
                self.fills += 1
        self.fs.free()

    def __enter__(self):
        self._thread.start()
        return self

    def stop(self):
        """Stops flapping and leaves the file system with room."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def __exit__(self, *exc):
        self.stop()
