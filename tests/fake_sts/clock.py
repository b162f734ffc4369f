"""The fake's wall clock: what the fake claims the epoch time is.

It stamps ``Expiration`` and decides expiry, so tests move it instead of waiting. Real
mode: the system clock plus an offset. Manual mode: frozen where it stood, moved only by
``advance()``. In real mode ``advance()`` adds to the offset.
"""

import threading
import time


class WallClock:
    def __init__(self, manual=False, offset=0.0):
        self._lock = threading.Lock()
        self.restart(manual, offset)

    def restart(self, manual, offset):
        with self._lock:
            self._offset = offset
            self._manual = manual
            self._frozen = time.time() + offset

    def wall(self):
        with self._lock:
            return self._frozen if self._manual else time.time() + self._offset

    @property
    def manual(self):
        return self._manual

    def set_manual(self, manual):
        """Switch modes without a jump."""
        with self._lock:
            if manual and not self._manual:
                self._frozen = time.time() + self._offset
            elif self._manual and not manual:
                self._offset = self._frozen - time.time()
            self._manual = manual

    def set_offset(self, offset):
        with self._lock:
            if self._manual:
                self._frozen += offset - self._offset
            self._offset = offset

    @property
    def offset(self):
        return self._offset

    def advance(self, seconds):
        if seconds < 0:
            raise ValueError("the clock cannot go backwards")
        with self._lock:
            if self._manual:
                self._frozen += seconds
            else:
                self._offset += seconds
