"""Ports of the operational stores: what the server and pipelines need, not how it is kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import polars as pl

from recsys.data.recent_events import RecentEvents


@dataclass(frozen=True)
class StoredEvent:
    """One feedback event as channels report it (timestamps are timezone-aware UTC)."""

    customer_id: str
    product_id: str
    event: str
    timestamp: datetime
    channel: str | None = None
    amount: float | None = None
    request_id: str | None = None
    offer_id: str | None = None
    # the channel's own id of the event and who sent it: stored once per (source, event_id)
    event_id: str | None = None
    source: str = ""


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or refused the write; nothing was acknowledged."""


class EventStore(Protocol):
    """Durable event log: the source of truth for customer state since the model's snapshot."""

    def append(self, events: Sequence[StoredEvent]) -> int:
        """Store all events atomically and durably (committed) before returning their count;
        an event whose (source, event_id) is stored already is counted, not stored again."""
        ...

    def recent(self, customer_ids: Sequence[str], since: datetime) -> RecentEvents:
        """Events of these customers with timestamp > since, oldest first (ties: stored order)."""
        ...

    def export(self, since: datetime | None = None) -> pl.DataFrame:
        """Every stored event (optionally after `since`) as a canonical events frame."""
        ...

    def count(self) -> int:
        """Number of stored events."""
        ...

    def product_counts(
        self, product_ids: Sequence[str], since: datetime, events: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """(product id, event type) -> count of such events after `since`."""
        ...
