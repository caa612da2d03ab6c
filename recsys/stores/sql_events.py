"""The event log in SQL (SQLite or PostgreSQL): durable appends, per-customer reads, exports."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from recsys.columns import Columns as C
from recsys.data.recent_events import RecentEvents, utc_micros
from recsys.data.schema import UTC_DATETIME
from recsys.stores.base import StoredEvent
from recsys.stores.db import SQLITE, make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import (
    CLIENT_EVENT_ID,
    EVENT_ID,
    ID_LENGTH,
    NAME_LENGTH,
    OFFER_ID,
    RECORDED_AT,
    REQUEST_ID,
    SOURCE,
)
from recsys.stores.tables import events as events_table

# What export returns: the canonical events columns, then the feedback links.
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
    SOURCE: ID_LENGTH,
    CLIENT_EVENT_ID: ID_LENGTH,
}
_REQUIRED: Final = (C.customer_id, C.product_id, C.event)
_SINCE: Final = "since"
_RECENT_COLUMNS: Final = (C.customer_id, C.product_id, C.event, C.timestamp)  # RecentEvents'


@dataclass(frozen=True)
class _Read:
    """A SELECT compiled for one dialect: its SQL text, parameter order and bind processors."""

    sql: str
    order: tuple[str, ...] | None  # positional paramstyles (SQLite's ?): names in order
    since: Callable[[datetime], Any] | None  # the dialect's DateTime bind processor
    # positional, ordered customer_0..customer_n-1 then since: parameters are (*ids, since)
    ids_first: bool = False
    # (since, its bound value) of the last call: every Recommend reads since the same snapshot
    # time, so SQLAlchemy's DateTime processor need not bind it again on every read
    last_since: list[tuple[datetime, Any] | None] = field(
        default_factory=lambda: [None], compare=False
    )

    @classmethod
    def compile(cls, query: sa.Select, dialect: sa.Dialect) -> _Read:
        """Compile `query` (customer_i and `since` bind parameters) for `dialect`."""
        compiled = query.compile(dialect=dialect)
        since = compiled.binds[_SINCE].type.dialect_impl(dialect).bind_processor(dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        ids = tuple(n for n in compiled.binds if n.startswith("customer_"))
        return cls(compiled.string, order, since, ids_first=order == (*ids, _SINCE))

    def parameters(self, ids: list[str], since: datetime) -> tuple | dict[str, Any]:
        """DBAPI parameters for these ids and `since`, in the dialect's paramstyle."""
        bound = self._bound(since)
        if self.ids_first:
            return (*ids, bound)
        values: dict[str, Any] = {f"customer_{i}": c for i, c in enumerate(ids)}
        values[_SINCE] = bound
        return values if self.order is None else tuple(values[n] for n in self.order)

    def _bound(self, since: datetime) -> Any:
        kept = self.last_since[0]
        if kept is not None and kept[0] == since:
            return kept[1]
        bound = self.since(since) if self.since is not None else since
        self.last_since[0] = (since, bound)  # a pair replaced whole: threads never see halves
        return bound


class _KeptReaders:
    """One SQLite connection per reading thread, kept out of the pool for good.

    A Recommend reads its customer's events on every call; the pool's checkout and return
    (a rollback each) were a large share of a read on SQLite. A kept connection runs
    each SELECT in autocommit, so every read sees what any process committed before it. It
    is detached from the pool: the threads that read cannot starve writers of connections.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._mine = threading.local()  # .connection: this thread's
        self._opened: list[Any] = []  # every thread's, for close_all
        self._lock = threading.Lock()

    def get(self) -> Any:
        """This thread's connection (with the engine's connect pragmas), opened on first use."""
        connection = getattr(self._mine, "connection", None)
        if connection is None:
            fairy = self.engine.raw_connection()
            fairy.detach()  # its pool slot is free again; closing it now really closes it
            connection = self._mine.connection = fairy.dbapi_connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def drop(self) -> None:
        """Close this thread's connection (after an error); its next read opens another."""
        connection = getattr(self._mine, "connection", None)
        self._mine.connection = None
        if connection is not None:
            with self._lock:
                self._opened.remove(connection)
            connection.close()

    def close_all(self) -> None:
        """Close every thread's connection (at shutdown); a later read opens a new one."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._mine = threading.local()


class SqlEventStore:
    """EventStore over SQLAlchemy; every method turns an unreachable DB into StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._raw_timestamps = engine.dialect.name == SQLITE
        self._reads: dict[int, _Read] = {}
        # a file's connections all see one database; each of :memory:'s would be another one
        kept = self._raw_timestamps and engine.url.database not in (None, "", ":memory:")
        self._kept = _KeptReaders(engine) if kept else None

    def close(self) -> None:
        """Close the connections (at shutdown; a forked child opens its own store)."""
        if self._kept is not None:
            self._kept.close_all()
        self.engine.dispose()

    def create_tables(self) -> None:
        """Migrate the store to the newest schema (a no-op when it is there already)."""
        with unavailable("event store", "migrate the store"):
            upgrade(self.engine)

    def append(self, events: Sequence[StoredEvent]) -> int:
        """Store all events in one transaction, committed (durable) before returning their count.

        An event whose (source, event_id) is in the store already is left as it is and counted:
        a batch retried after a timeout is acknowledged without storing anything twice.
        """
        if not events:
            return 0
        recorded_at = datetime.now(UTC)
        rows = [_row(i, e, recorded_at) for i, e in enumerate(events)]
        with unavailable("event store", "append events"), self.engine.begin() as conn:
            conn.execute(self._insert(any(e.event_id for e in events)), rows)
        return len(rows)

    def _insert(self, with_ids: bool) -> sa.Insert:
        """The INSERT of events; with client ids, one that skips the ids stored already."""
        if not with_ids:
            return events_table.insert()
        dialect = self.engine.dialect.name
        insert = sqlite_insert if dialect == SQLITE else postgresql_insert
        # the unique index on (source, event_id) decides; NULL ids never clash, so events
        # without an id are all stored
        return insert(events_table).on_conflict_do_nothing(index_elements=[SOURCE, CLIENT_EVENT_ID])

    def recent(self, customer_ids: Sequence[str], since: datetime) -> RecentEvents:
        """Events of these customers with timestamp > since, oldest first (ties: insert order).

        Every Recommend reads through here, so it runs a statement compiled once per id count
        on a DBAPI cursor and builds no frame: the rows go to the overlay as plain columns.
        """
        rows = self._read(customer_ids, since)
        if not rows:
            return RecentEvents()
        # rows: event id, customer, product, event, timestamp; oldest first, ties by id
        stamps = [utc_micros(r[4]) for r in rows]
        order = sorted(range(len(rows)), key=lambda i: (stamps[i], rows[i][0]))
        return RecentEvents(
            customer_id=[rows[i][1] for i in order],
            product_id=[rows[i][2] for i in order],
            event=[rows[i][3] for i in order],
            micros=[stamps[i] for i in order],
        )

    def _read(self, customer_ids: Sequence[str], since: datetime) -> list[tuple]:
        """Rows (event id first, then RecentEvents' columns) of these customers after `since`,
        unordered."""
        since = _utc(since, "since")
        ids = list(dict.fromkeys(str(c) for c in customer_ids))
        chunks = [ids[i : i + IDS_PER_QUERY] for i in range(0, len(ids), IDS_PER_QUERY)]
        with unavailable("event store", "read events"):
            return self._fetch([(self._read_statement(len(c)), c) for c in chunks], since)

    def _fetch(self, queries: list[tuple[_Read, list[str]]], since: datetime) -> list[tuple]:
        """Rows of the compiled reads; DBAPI errors as SQLAlchemy's (see errors.unavailable)."""
        if self._kept is not None:
            return self._fetch_kept(self._kept, queries, since)
        dbapi = self.engine.dialect.loaded_dbapi
        raw = cursor = None
        try:
            raw = self.engine.raw_connection()
            cursor = raw.cursor()
            return _rows(cursor, queries, since)
        except dbapi.Error as exc:
            lost = raw is not None and self.engine.dialect.is_disconnect(
                exc, raw.dbapi_connection, cursor
            )
            if lost:
                raw.invalidate(exc)  # a dead connection must not go back to the pool
            raise sa.exc.DBAPIError.instance(
                "read events", None, exc, dbapi.Error, connection_invalidated=lost
            ) from exc
        finally:
            if cursor is not None:
                cursor.close()
            if raw is not None:
                raw.close()  # back to the pool

    def _fetch_kept(
        self, kept: _KeptReaders, queries: list[tuple[_Read, list[str]]], since: datetime
    ) -> list[tuple]:
        """`_fetch` on this thread's kept SQLite connection (replaced after any error)."""
        dbapi = self.engine.dialect.loaded_dbapi
        connection = kept.get()
        cursor = None
        try:
            cursor = connection.cursor()
            return _rows(cursor, queries, since)
        except dbapi.Error as exc:
            lost = self.engine.dialect.is_disconnect(exc, connection, cursor)
            if lost:  # closed or broken: this thread's next read opens another
                cursor = None
                kept.drop()
            raise sa.exc.DBAPIError.instance(
                "read events", None, exc, dbapi.Error, connection_invalidated=lost
            ) from exc
        finally:
            if cursor is not None:
                cursor.close()  # ends the read: no snapshot is held between calls

    def _read_statement(self, n_ids: int) -> _Read:
        """The SELECT of RecentEvents' columns for `n_ids` customers, compiled once."""
        read = self._reads.get(n_ids)
        if read is None:
            timestamp = events_table.c[C.timestamp]
            ids = [sa.bindparam(f"customer_{i}", type_=sa.String) for i in range(n_ids)]
            query = self._select(_RECENT_COLUMNS).where(
                events_table.c[C.customer_id].in_(ids),
                timestamp > sa.bindparam(_SINCE, type_=timestamp.type),
            )
            read = _Read.compile(query, self.engine.dialect)
            self._reads[n_ids] = read  # a race only compiles the same statement twice
        return read

    def export(self, since: datetime | None = None) -> pl.DataFrame:
        """Every stored event (after `since` when given), oldest first."""
        query = self._select().order_by(events_table.c[C.timestamp], events_table.c[EVENT_ID])
        if since is not None:
            query = query.where(events_table.c[C.timestamp] > _utc(since, "since"))
        frames = []
        with unavailable("event store", "export events"), self.engine.connect() as conn:
            # stream_results: a server-side cursor on PostgreSQL, so memory stays one partition
            result = conn.execution_options(stream_results=True).execute(query)
            for part in result.partitions(ROWS_PER_PARTITION):
                frames.append(self._frame(part))
        return _oldest_first(frames)

    def product_counts(
        self, product_ids: Sequence[str], since: datetime, events: Sequence[str]
    ) -> dict[tuple[str, str], int]:
        """(product id, event type) -> how many such events have timestamp > since (pairs
        without any are left out); what exploration learns from, in every server process."""
        if not product_ids or not events:
            return {}
        t = events_table.c
        query = (
            sa.select(t[C.product_id], t[C.event], sa.func.count())
            .where(
                t[C.product_id].in_(list(product_ids)),
                t[C.event].in_(list(events)),
                t[C.timestamp] > _utc(since, "since"),
            )
            .group_by(t[C.product_id], t[C.event])
        )
        with unavailable("event store", "count events by product"), self.engine.connect() as c:
            return {(p, e): int(n) for p, e, n in c.execute(query)}

    def count(self) -> int:
        """Number of stored events."""
        query = sa.select(sa.func.count()).select_from(events_table)
        with unavailable("event store", "count events"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _select(self, columns: Sequence[str] = tuple(EVENT_LOG_SCHEMA)) -> sa.Select:
        timestamp = events_table.c[C.timestamp]
        if self._raw_timestamps:
            timestamp = sa.type_coerce(timestamp, sa.String).label(C.timestamp)
        cols = [timestamp if n == C.timestamp else events_table.c[n] for n in columns]
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


def _rows(cursor: Any, queries: list[tuple[_Read, list[str]]], since: datetime) -> list[tuple]:
    """Every row of the compiled reads, run one after another on a DBAPI cursor."""
    rows: list[tuple] = []
    for read, chunk in queries:
        cursor.execute(read.sql, read.parameters(chunk, since))
        rows.extend(cursor.fetchall())
    return rows


def open_event_store(url: str, *, timeout_s: float | None = None) -> SqlEventStore:
    """A store on `url` with its tables created if missing."""
    engine = make_engine(url) if timeout_s is None else make_engine(url, timeout_s=timeout_s)
    store = SqlEventStore(engine)
    store.create_tables()
    return store


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
        SOURCE: e.source,
        CLIENT_EVENT_ID: e.event_id,
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
