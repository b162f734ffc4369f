"""The fake's two clocks.

The simulation clock drives builder transitions, token expiry and the call log. It follows
``time.monotonic()`` by default; in manual mode it only moves when the control API says so,
so tests are deterministic. ``advance()`` works in both modes (in real mode it adds to the
elapsed time).

The wall clock is what the server claims the time is: the ``Date`` header, the
signature-expiry check, credential expiry and ``CreatedTime``. It is the real wall clock
plus a configurable offset, independent of the manual mode, because clients sign with
their real wall clock.
"""

import threading
import time


class Clocks:
    def __init__(self, manual=False, offset=0.0):
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._manual = manual
        self._frozen = 0.0
        self._extra = 0.0
        self.offset = offset

    def now(self):
        """Simulation time in seconds since the fake started (or was reset)."""
        with self._lock:
            return self._now_locked()

    def _now_locked(self):
        if self._manual:
            return self._frozen
        return time.monotonic() - self._origin + self._extra

    @property
    def manual(self):
        return self._manual

    def set_manual(self, manual):
        """Switch modes without a jump: the simulation time carries on from where it is."""
        with self._lock:
            current = self._now_locked()
            self._manual = manual
            self._frozen = current
            self._extra = current - (time.monotonic() - self._origin)

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError("the simulation clock cannot go backwards")
        with self._lock:
            if self._manual:
                self._frozen += seconds
            else:
                self._extra += seconds

    def restart(self, manual, offset):
        """Back to time zero, as at start-up."""
        with self._lock:
            self._origin = time.monotonic()
            self._manual = manual
            self._frozen = 0.0
            self._extra = 0.0
            self.offset = offset

    def wall(self):
        """The server's idea of the current epoch time."""
        return time.time() + self.offset
