"""Slots that uncapped offers took, written in batches by a thread (off the request path).

A capped offer's slot is reserved in the store before the answer leaves (the cap depends on
it); an uncapped offer's slot only feeds the "served" count of its stats, so the request just
queues it. When the queue is full the slot is dropped and counted: stats may undercount,
no answer waits.
"""

from __future__ import annotations

import logging
import queue
import threading
from datetime import datetime
from typing import Final

from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_offers import Delivery, OfferStore

log = logging.getLogger(__name__)
QUEUE_SIZE: Final = 50_000
BATCH: Final = 1_000
FLUSH_S: Final = 0.5


class DeliveryRecorder:
    """Queue of delivered slots and the daemon thread that stores them."""

    def __init__(self, store: OfferStore, *, queue_size: int = QUEUE_SIZE) -> None:
        self.store = store
        self.dropped = 0
        self._queue: queue.Queue[Delivery] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="offer-deliveries", daemon=True)
        self._thread.start()

    def record(
        self, offer_id: str, customer_id: str, request_id: str, channel: str, at: datetime
    ) -> None:
        """Queue one slot; never blocks, never raises (a full queue counts a drop)."""
        try:
            self._queue.put_nowait(Delivery(offer_id, customer_id, request_id, channel, at))
        except queue.Full:
            self.dropped += 1

    def flush(self, timeout: float = 5.0) -> None:
        """Write what is queued now (tests, shutdown)."""
        self._write(self._drain(), deadline=timeout)

    def close(self) -> None:
        """Stop the thread after writing what is queued."""
        self._stop.set()
        self._thread.join(timeout=FLUSH_S + 5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_S):
            self._write(self._drain(), deadline=FLUSH_S)

    def _drain(self) -> list[Delivery]:
        out: list[Delivery] = []
        while len(out) < BATCH * 10:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return out

    def _write(self, rows: list[Delivery], deadline: float) -> None:
        for i in range(0, len(rows), BATCH):
            try:
                self.store.record_deliveries(rows[i : i + BATCH])
            except StoreUnavailable as exc:
                self.dropped += len(rows) - i
                log.warning("offer deliveries not stored (%d dropped): %s", len(rows) - i, exc)
                return
