"""Running the real appstream-agent-reconciler binary from tests.

RECONCILER_BIN names the binary under test (scripts/test points it at the ASan+UBSan build);
without it the plain build in build/ is used. Configurations are written from keyword
sections so that each test states exactly the policy it relies on."""

import os
import pathlib
import signal
import subprocess
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

    def __init__(self, config, env, log_path, args=("run",)):
        self.log_path = pathlib.Path(log_path)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "-c", str(config), *args], env=env,
                                     stdout=self._log, stderr=self._log)

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

    def stop(self, timeout=30.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)
