"""A limit on failed sign-ins per client address: N failures within a window, then a wait."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Final

MAX_ADDRESSES: Final = 100_000  # addresses remembered at once


class SignInLimit:
    """At most `failures` failed sign-ins per address in any `window_s` seconds."""

    def __init__(
        self, failures: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.window_s = window_s
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def wait_s(self, address: str) -> float:
        """Seconds until `address` may try again (0: now)."""
        recent = self._recent(address)
        if len(recent) < self.failures:
            return 0.0
        return max(0.0, recent[0] + self.window_s - self._clock())

    def failed(self, address: str) -> None:
        """Count one failed sign-in of `address`."""
        if len(self._seen) >= MAX_ADDRESSES:
            self._seen.clear()  # a flood of addresses: start over rather than grow
        self._recent(address).append(self._clock())

    def succeeded(self, address: str) -> None:
        """A good sign-in clears the address's failures."""
        self._seen.pop(address, None)

    def _recent(self, address: str) -> deque[float]:
        times = self._seen.setdefault(address, deque())
        cutoff = self._clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        while len(times) > self.failures:
            times.popleft()
        return times
