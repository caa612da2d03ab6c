"""A refresh run once now and then every few seconds in a daemon thread: the books' poll."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Poller:
    """Calls `refresh` on `start`, then every `seconds` in a daemon thread until `stop`."""

    def __init__(self, refresh: Callable[[], object], seconds: float, name: str) -> None:
        if seconds <= 0:
            raise ValueError(f"refresh_seconds must be positive, got {seconds}")
        self.refresh = refresh
        self.seconds = seconds
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Refresh once now, then start polling (once: a second start only refreshes)."""
        self.refresh()
        if self._thread is None:
            self._thread = threading.Thread(target=self._poll, name=self.name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop polling (waits for the thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.seconds + 5)

    def _poll(self) -> None:
        while not self._stop.wait(self.seconds):
            self.refresh()
