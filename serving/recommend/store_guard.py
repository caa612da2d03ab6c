"""Event-store reads for Recommend with a time budget and a breaker, so a hung store stalls nothing.

A database that stops answering without closing the connection (a network partition, a
stalled server) made `recent` wait forever: on the loop thread, every call of the
server waited with it. Here the read runs on a small thread pool and Recommend waits at most
READ_BUDGET_S for it; a read that fails or runs late raises StoreUnavailable (Recommend then
answers from the model's snapshot) and opens the breaker: for COOLDOWN_S no read is tried,
so a dead store costs one budget per cooldown, not one per call. Writes are not guarded:
RecordEvents must fail or succeed, never guess.

The hop to a reader thread costs CPU and two thread switches per call: paid for a store
across a network, not for a SQLite file, whose reads cannot hang that way (WAL readers are not
blocked by writers, and a lock wait is bounded by busy_timeout).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime
from typing import TypeVar

import polars as pl

from recsys.data.recent_events import RecentEvents
from recsys.stores.base import EventStore, StoredEvent, StoreUnavailable
from recsys.stores.db import SQLITE
from recsys.stores.sql_events import SqlEventStore

READ_BUDGET_S = 0.25  # far past a healthy read: this late means the store is in trouble
COOLDOWN_S = 1.0
T = TypeVar("T")
READERS = 2  # reads stuck in a hung store hold these threads; past that, reads fail at once


def guard_reads(store: EventStore) -> EventStore:
    """`store` itself when it is a local SQLite file, else GuardedReads around it."""
    if isinstance(store, SqlEventStore) and store.engine.dialect.name == SQLITE:
        return store
    return GuardedReads(store)


class GuardedReads:
    """`store` with its per-customer reads bounded in time and paused after a failure."""

    def __init__(
        self, store: EventStore, *, budget_s: float = READ_BUDGET_S, cooldown_s: float = COOLDOWN_S
    ) -> None:
        self.store = store
        self.budget_s = budget_s
        self.cooldown_s = cooldown_s
        self._work: queue.SimpleQueue[tuple[Future, Callable[[], object]]] = queue.SimpleQueue()
        for i in range(READERS):
            # daemon threads: a read stuck in a hung store must not hold up the process's exit
            # (a ThreadPoolExecutor's threads are joined at exit)
            threading.Thread(target=self._reader, name=f"store-read-{i}", daemon=True).start()
        self._lock = threading.Lock()
        self._busy = 0  # reads submitted and not finished (stuck ones included)
        self._closed_until = 0.0  # monotonic time before which no read is tried

    def recent(self, customer_ids: Sequence[str], since: datetime) -> RecentEvents:
        """The store's answer within the budget, else StoreUnavailable (breaker opened)."""
        return self._within_budget(lambda: self.store.recent(customer_ids, since))

    def _within_budget(self, read: Callable[[], T]) -> T:
        future = self._submit(read)
        try:
            return future.result(self.budget_s)
        except FutureTimeout:
            self._open()
            raise StoreUnavailable(
                f"event store: a read took longer than {self.budget_s:g} s; reads paused for "
                f"{self.cooldown_s:g} s"
            ) from None
        except StoreUnavailable:
            self._open()
            raise

    def _submit(self, read: Callable[[], object]) -> Future:
        with self._lock:
            now = time.monotonic()
            if now < self._closed_until:
                raise StoreUnavailable(
                    f"event store: reads paused for {self._closed_until - now:.1f} s more "
                    "after a failed read"
                )
            if self._busy >= READERS:  # every reader is stuck in the store
                self._closed_until = now + self.cooldown_s
                raise StoreUnavailable("event store: earlier reads have not returned")
            self._busy += 1
        future: Future = Future()
        self._work.put((future, read))
        return future

    def _reader(self) -> None:
        while True:
            future, read = self._work.get()
            try:
                future.set_result(read())
            except BaseException as exc:  # handed to the waiting caller
                future.set_exception(exc)
            finally:
                with self._lock:
                    self._busy -= 1

    def _open(self) -> None:
        with self._lock:
            self._closed_until = time.monotonic() + self.cooldown_s

    # --- the rest of EventStore, unguarded -----------------------------------------------
    def append(self, events: Sequence[StoredEvent]) -> int:
        """The store's append (a write fails or succeeds; it is never guessed)."""
        return self.store.append(events)

    def export(self, since: datetime | None = None) -> pl.DataFrame:
        """The store's export."""
        return self.store.export(since)

    def count(self) -> int:
        """The store's count."""
        return self.store.count()
