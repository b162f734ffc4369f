"""What the Python checks (check_*.py) share: a tally of checks that says each failure and
gives the run's exit status, and the sanitizer settings a tool under test keeps when it runs
in an environment of its own."""
import os
import sys

SANITIZER_VARIABLES = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


class Tally:
    """check(cond, what) counts cond; a false one is printed with what."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failures = 0

    def __call__(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failures += 1
            print("FAIL:", what, file=sys.stderr)
        return bool(cond)

    def summary(self):
        """Prints the counts; the exit status of the run."""
        print(f"{self.name}: {self.passed} passed, {self.failures} failed")
        return 1 if self.failures else 0


def with_sanitizers(env):
    """env with this process's sanitizer settings added, so that a tool built with ASan and
    UBSan reports as the test command asks."""
    env = dict(env)
    for name in SANITIZER_VARIABLES:
        if name in os.environ:
            env[name] = os.environ[name]
    return env
