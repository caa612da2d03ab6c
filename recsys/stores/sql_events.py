"""The event log in SQL (SQLite or PostgreSQL): durable appends, per-customer reads, exports."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Final

import polars as pl
import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.data.schema import UTC_DATETIME
from recsys.stores.base import StoredEvent, StoreUnavailable
from recsys.stores.db import SQLITE, make_engine
from recsys.stores.tables import (
    EVENT_ID,
    ID_LENGTH,
    NAME_LENGTH,
    OFFER_ID,
    RECORDED_AT,
    REQUEST_ID,
    metadata,
)
from recsys.stores.tables import events as events_table

logger = logging.getLogger(__name__)

# What for_customers/export return: the canonical events columns, then the feedback links.
EVENT_LOG_SCHEMA: Final = {
    C.customer_id: pl.String,
    C.product_id: pl.String,
    C.event: pl.String,
    C.timestamp: UTC_DATETIME,
    C.channel: pl.String,
    C.amount: pl.Float64,
    REQUEST_ID: pl.String,
    OFFER_ID: pl.String,
}
IDS_PER_QUERY: Final = 500  # bound parameters per IN (...) list; SQLite caps them
ROWS_PER_PARTITION: Final = 100_000  # rows turned into one polars frame at a time on export
# SQLAlchemy's SQLite text form of a DateTime, parsed by polars instead of row by row in Python.
_SQLITE_DATETIME: Final = "%Y-%m-%d %H:%M:%S%.f"
_LIMITS: Final = {
    C.customer_id: ID_LENGTH,
    C.product_id: ID_LENGTH,
    C.event: NAME_LENGTH,
    C.channel: NAME_LENGTH,
    REQUEST_ID: ID_LENGTH,
    OFFER_ID: ID_LENGTH,
}
_REQUIRED: Final = (C.customer_id, C.product_id, C.event)


class SqlEventStore:
    """EventStore over SQLAlchemy; every method turns an unreachable DB into StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._raw_timestamps = engine.dialect.name == SQLITE

    def close(self) -> None:
        """Close the pooled connections (at shutdown; a forked child opens its own store)."""
        self.engine.dispose()

    def create_tables(self) -> None:
        """Create the events table and its index if they are missing (no-op otherwise)."""
        with _unavailable("create tables"):
            metadata.create_all(self.engine, tables=[events_table])

    def append(self, events: Sequence[StoredEvent]) -> int:
        """Store all events in one transaction, committed (durable) before returning their count."""
        if not events:
            return 0
        recorded_at = datetime.now(UTC)
        rows = [_row(i, e, recorded_at) for i, e in enumerate(events)]
        with _unavailable("append events"), self.engine.begin() as conn:
            conn.execute(events_table.insert(), rows)
        return len(rows)

    def for_customers(self, customer_ids: Sequence[str], since: datetime) -> pl.DataFrame:
        """Events of these customers with timestamp > since, oldest first (ties: insert order)."""
        since = _utc(since, "since")
        ids = list(dict.fromkeys(str(c) for c in customer_ids))
        frames = []
        with _unavailable("read events"), self.engine.connect() as conn:
            for start in range(0, len(ids), IDS_PER_QUERY):
                chunk = ids[start : start + IDS_PER_QUERY]
                query = self._select().where(
                    events_table.c[C.customer_id].in_(chunk), events_table.c[C.timestamp] > since
                )
                frames.append(self._frame(conn.execute(query).all()))
        return _oldest_first(frames)

    def export(self, since: datetime | None = None) -> pl.DataFrame:
        """Every stored event (after `since` when given), oldest first."""
        query = self._select().order_by(events_table.c[C.timestamp], events_table.c[EVENT_ID])
        if since is not None:
            query = query.where(events_table.c[C.timestamp] > _utc(since, "since"))
        frames = []
        with _unavailable("export events"), self.engine.connect() as conn:
            # stream_results: a server-side cursor on PostgreSQL, so memory stays one partition
            result = conn.execution_options(stream_results=True).execute(query)
            for part in result.partitions(ROWS_PER_PARTITION):
                frames.append(self._frame(part))
        return _oldest_first(frames)

    def count(self) -> int:
        """Number of stored events."""
        query = sa.select(sa.func.count()).select_from(events_table)
        with _unavailable("count events"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _select(self) -> sa.Select:
        timestamp = events_table.c[C.timestamp]
        if self._raw_timestamps:
            timestamp = sa.type_coerce(timestamp, sa.String).label(C.timestamp)
        cols = [timestamp if n == C.timestamp else events_table.c[n] for n in EVENT_LOG_SCHEMA]
        return sa.select(events_table.c[EVENT_ID], *cols)

    def _frame(self, rows: Sequence[sa.Row]) -> pl.DataFrame:
        """Rows of `_select` as a typed frame, built column-wise by polars."""
        stamp = pl.String if self._raw_timestamps else UTC_DATETIME
        schema = {EVENT_ID: pl.Int64} | EVENT_LOG_SCHEMA | {C.timestamp: stamp}
        columns = zip(*rows, strict=True) if rows else ([] for _ in schema)
        frame = pl.DataFrame(
            [pl.Series(n, v, dtype=t) for (n, t), v in zip(schema.items(), columns, strict=True)]
        )
        if self._raw_timestamps:
            parsed = pl.col(C.timestamp).str.to_datetime(
                _SQLITE_DATETIME, time_unit="us", time_zone="UTC", strict=True
            )
            frame = frame.with_columns(parsed)
        return frame


def open_event_store(url: str, *, timeout_s: float | None = None) -> SqlEventStore:
    """A store on `url` with its tables created if missing."""
    engine = make_engine(url) if timeout_s is None else make_engine(url, timeout_s=timeout_s)
    store = SqlEventStore(engine)
    store.create_tables()
    return store


@contextmanager
def _unavailable(action: str) -> Iterator[None]:
    """Unreachable, locked or lost connection -> StoreUnavailable (nothing was acknowledged)."""
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        logger.warning("event store: %s failed: %s", action, exc.__class__.__name__)
        raise StoreUnavailable(f"event store: cannot {action}: {_reason(exc)}") from exc
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise StoreUnavailable(f"event store: connection lost during {action}") from exc


def _reason(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


def _row(index: int, e: StoredEvent, recorded_at: datetime) -> dict[str, object]:
    """One insert row; ValueError (naming events[index].field) for what SQL cannot keep exactly."""
    row: dict[str, object] = {
        C.customer_id: e.customer_id,
        C.product_id: e.product_id,
        C.event: e.event,
        C.timestamp: _utc(e.timestamp, f"events[{index}].{C.timestamp}"),
        C.channel: e.channel,
        C.amount: e.amount,
        REQUEST_ID: e.request_id,
        OFFER_ID: e.offer_id,
        RECORDED_AT: recorded_at,
    }
    for name in _REQUIRED:
        if not isinstance(row[name], str) or not row[name]:
            raise ValueError(f"events[{index}].{name}: must be a non-empty string")
    for name, limit in _LIMITS.items():
        value = row[name]
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ValueError(f"events[{index}].{name}: must be a string of at most {limit} chars")
        if value is not None and "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise ValueError(f"events[{index}].{name}: must not contain NUL characters")
    # SQLite would store NaN as NULL: refuse rather than change the value
    if e.amount is not None and not math.isfinite(e.amount):
        raise ValueError(f"events[{index}].{C.amount}: must be finite, got {e.amount}")
    return row


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


def _oldest_first(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=EVENT_LOG_SCHEMA)
    out = pl.concat(frames) if len(frames) > 1 else frames[0]
    return out.sort(C.timestamp, EVENT_ID).drop(EVENT_ID)
