"""The running experiments of one server process, re-read from the store every few seconds.

As the offer book: every process polls on its own, so creating or stopping an experiment
reaches all of them within the refresh; a failed poll keeps what was read last.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from recsys.experiments.model import Experiment
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_experiments import ExperimentStore
from serving.polling import Poller

log = logging.getLogger(__name__)


class ExperimentBook:
    """Running experiments, refreshed in the background; `for_channel` is lock-free."""

    def __init__(
        self,
        store: ExperimentStore,
        *,
        refresh_seconds: float = 5.0,
        on_change: Callable[[tuple[Experiment, ...]], None] | None = None,
    ) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.on_change = on_change  # told the running experiments after each change
        self._running: tuple[Experiment, ...] = ()
        self._poller = Poller(self.refresh, refresh_seconds, "experiment-book")

    @property
    def running(self) -> tuple[Experiment, ...]:
        """The experiments read last."""
        return self._running

    def refresh(self) -> bool:
        """Re-read the running experiments; True when they changed. Never raises."""
        try:
            found = tuple(self.store.running())
        except StoreUnavailable as exc:
            log.warning("experiments not refreshed, keeping %d: %s", len(self._running), exc)
            return False
        if found == self._running:
            return False
        self._running = found
        log.info("experiments refreshed", extra={"running_experiments": len(found)})
        if self.on_change is not None:
            try:
                self.on_change(found)
            except Exception:  # an arm that fails to load must not stop the book
                log.exception("experiment arms could not be prepared")
        return True

    def for_channel(self, channel: str, now: datetime) -> Experiment | None:
        """The experiment live at `now` that covers `channel` (at most one: the store checks)."""
        for e in self._running:  # one read of an immutable tuple
            if e.live(now) and e.covers(channel):
                return e
        return None

    def start(self) -> None:
        """Read once now, then poll in a daemon thread until `stop`."""
        self._poller.start()

    def stop(self) -> None:
        """Stop polling (waits for the thread)."""
        self._poller.stop()
