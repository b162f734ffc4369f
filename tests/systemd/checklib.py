"""What the checks in this directory share: the source and build trees, and counting."""
import os
import pathlib
import sys

SOURCE_DIR = pathlib.Path(os.environ.get("SOURCE_DIR") or pathlib.Path(__file__).parents[2])
BUILD_DIR = pathlib.Path(os.environ.get("BUILD_DIR") or SOURCE_DIR / "build")


class Checks:
    """Counts checks; each failure is printed with what was expected."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}", file=sys.stderr)
        return cond

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0
