"""The decision log in SQL (SQLite or PostgreSQL): what each Recommend answer showed, and why.

Items and removals are JSON text (the same on both backends): they are read whole by the
audit, never filtered on in SQL. Timestamps are UTC, like every table of the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.stores.db import DEFAULT_TIMEOUT_S, make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import ID_LENGTH, NAME_LENGTH, REQUEST_ID
from recsys.stores.tables import decisions as decisions_table

AT: Final = "at"
MODEL_VERSION: Final = "model_version"
ITEMS: Final = "items"
REMOVED: Final = "removed"
EXPERIMENT_ID: Final = "experiment_id"
ARM: Final = "arm"
FALLBACK: Final = "fallback"
LATENCY_MS: Final = "latency_ms"
KNOWN: Final = "known"
_LIMITS: Final = {
    REQUEST_ID: ID_LENGTH,
    C.customer_id: ID_LENGTH,
    C.channel: NAME_LENGTH,
    MODEL_VERSION: ID_LENGTH,
}
# A DecisionRow's columns, in order
COLUMNS: Final = (REQUEST_ID, AT, C.customer_id, C.channel, MODEL_VERSION, ITEMS, REMOVED,
                  EXPERIMENT_ID, ARM, FALLBACK, LATENCY_MS, KNOWN)
ROWS_PER_INSERT: Final = 64  # rows of one multi-row INSERT (12 bound values a row)
# request_id, at (UTC), customer_id, channel, model_version, items JSON, removed JSON,
# experiment_id ("" for none), arm ("" for none), fallback, latency_ms (None: not measured),
# known (False: the snapshot did not know the customer)
DecisionRow = tuple[str, datetime, str, str, str, str, str, str, str, bool, float | None, bool]


@dataclass(frozen=True)
class Decision:
    """One Recommend answer: who, where, when, which model, the items shown and the removals.

    `items` are dicts with product_id, rank, score, reasons ([{code, text}]) and offer_id;
    `removed` maps a hard rule to the product ids it took out for this customer.
    """

    request_id: str
    at: datetime
    customer_id: str
    channel: str
    model_version: str
    items: list[dict[str, Any]] = field(default_factory=list)
    removed: dict[str, list[str]] = field(default_factory=dict)
    experiment_id: str = ""
    arm: str = ""
    fallback: bool = False
    latency_ms: float | None = None
    known: bool = True  # False: the customer was unknown to the model (no history)


class DecisionStore:
    """Append-only decision log over SQLAlchemy; DB errors surface as StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._inserts: dict[int, _Insert] = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def create_tables(self) -> None:
        """Migrate the store to the newest schema (a no-op when it is there already)."""
        with unavailable("decision store", "migrate the store"):
            upgrade(self.engine)

    def append_rows(self, rows: Sequence[DecisionRow]) -> int:
        """Store rows made by `decision_row` in one transaction; how many were stored.

        The decision log writes every answer through here, so the INSERT of n rows is
        compiled once per n and run as a driver statement, without SQLAlchemy's per-row
        parameter processing: Python under the GIL, a share of each row's cost.
        """
        if not rows:
            return 0
        statements = [rows[i : i + ROWS_PER_INSERT] for i in range(0, len(rows), ROWS_PER_INSERT)]
        with unavailable("decision store", "append decisions"), self.engine.begin() as conn:
            for chunk in statements:
                insert = self._insert(len(chunk))
                conn.exec_driver_sql(insert.sql, insert.parameters(chunk))
        return len(rows)

    def _insert(self, n_rows: int) -> _Insert:
        insert = self._inserts.get(n_rows)
        if insert is None:  # a race only compiles the same statement twice
            insert = self._inserts[n_rows] = _Insert.compile(n_rows, self.engine.dialect)
        return insert

    def for_customer(
        self, customer_id: str, since: datetime | None = None, limit: int | None = None
    ) -> list[Decision]:
        """This customer's decisions (at >= since when given), newest first, at most `limit`."""
        t = decisions_table.c
        query = (
            sa.select(
                t[REQUEST_ID],
                t[AT],
                t[C.customer_id],
                t[C.channel],
                t[MODEL_VERSION],
                t[ITEMS],
                t[REMOVED],
                t[EXPERIMENT_ID],
                t[ARM],
                t[FALLBACK],
                t[LATENCY_MS],
                t[KNOWN],
            )
            .where(t[C.customer_id] == customer_id)
            .order_by(t[AT].desc(), t["id"].desc())
        )
        if since is not None:
            query = query.where(t[AT] >= _utc(since, "since"))
        if limit is not None:
            if limit < 1:
                raise ValueError(f"limit: must be >= 1, got {limit}")
            query = query.limit(limit)
        with unavailable("decision store", "read decisions"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_decision(r) for r in rows]

    def purge(self, older_than: datetime) -> int:
        """Delete decisions made before `older_than`; how many were deleted."""
        query = decisions_table.delete().where(
            decisions_table.c[AT] < _utc(older_than, "older_than")
        )
        with unavailable("decision store", "purge decisions"), self.engine.begin() as conn:
            return int(conn.execute(query).rowcount)

    def count(self) -> int:
        """Number of stored decisions."""
        query = sa.select(sa.func.count()).select_from(decisions_table)
        with unavailable("decision store", "count decisions"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def open_decision_store(
    url: str, *, timeout_s: float | None = None, fsync_each_commit: bool = True
) -> DecisionStore:
    """A decision store on `url`, migrated to the newest schema (see make_engine for fsync)."""
    engine = make_engine(
        url,
        timeout_s=DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s,
        fsync_each_commit=fsync_each_commit,
    )
    store = DecisionStore(engine)
    try:
        store.create_tables()
    except BaseException:
        engine.dispose()
        raise
    return store


def decision_row(
    request_id: str,
    at: datetime,
    customer_id: str,
    channel: str,
    model_version: str,
    items_json: str,
    removed_json: str,
    index: int = 0,
    *,
    experiment_id: str = "",
    arm: str = "",
    fallback: bool = False,
    latency_ms: float | None = None,
    known: bool = True,
) -> DecisionRow:
    """A row for `append_rows`; ValueError (naming decisions[index].field) for what SQL
    cannot keep. The JSON must be json.dumps' (ASCII: NUL and odd characters escaped)."""
    moment = _utc(at, f"decisions[{index}].{AT}")
    check_ids(request_id, customer_id, channel, model_version, index)
    if len(experiment_id) > ID_LENGTH or len(arm) > NAME_LENGTH:
        raise ValueError(f"decisions[{index}].experiment_id/arm: too long")
    return (request_id, moment, customer_id, channel, model_version, items_json, removed_json,
            experiment_id, arm, bool(fallback), latency_ms, bool(known))


def check_ids(
    request_id: str, customer_id: str, channel: str, model_version: str, index: int = 0
) -> None:
    """ValueError naming decisions[index].field for an id SQL cannot keep (empty, too long,
    or holding NUL)."""
    checked = (request_id, customer_id, channel, model_version)  # in _LIMITS' order
    for (name, limit), value in zip(_LIMITS.items(), checked, strict=True):
        if not isinstance(value, str) or not value or len(value) > limit:
            raise ValueError(
                f"decisions[{index}].{name}: must be a non-empty string of at most {limit} chars"
            )
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise ValueError(f"decisions[{index}].{name}: must not contain NUL characters")


@dataclass(frozen=True)
class _Insert:
    """A multi-row INSERT compiled for one dialect: SQL text, parameter order, `at` processor."""

    sql: str
    order: tuple[str, ...] | None  # positional paramstyles (SQLite's ?): names in order
    at: Callable[[datetime], Any] | None  # the dialect's DateTime bind processor
    in_row_order: bool  # positional, the rows' values in COLUMNS order one row after another

    @classmethod
    def compile(cls, n_rows: int, dialect: sa.Dialect) -> _Insert:
        """The INSERT of `n_rows` rows (bind parameters named column_row) for `dialect`."""
        t = decisions_table.c
        values = [
            {name: sa.bindparam(f"{name}_{i}", type_=t[name].type) for name in COLUMNS}
            for i in range(n_rows)
        ]
        compiled = decisions_table.insert().values(values).compile(dialect=dialect)
        at = t[AT].type.dialect_impl(dialect).bind_processor(dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        flat = tuple(f"{name}_{i}" for i in range(n_rows) for name in COLUMNS)
        return cls(compiled.string, order, at, order == flat)

    def parameters(self, rows: Sequence[DecisionRow]) -> tuple | dict[str, Any]:
        """Driver parameters of `rows` in the dialect's paramstyle."""
        at = self.at
        if self.in_row_order and at is not None:  # SQLite: no dict, the rows' values in turn
            return tuple(v for r in rows for v in (r[0], at(r[1]), *r[2:]))
        values = {
            f"{name}_{i}": (at(value) if at is not None and name == AT else value)
            for i, r in enumerate(rows)
            for name, value in zip(COLUMNS, r, strict=True)
        }
        return values if self.order is None else tuple(values[n] for n in self.order)


def _decision(row: sa.Row) -> Decision:
    at = row[1]
    if isinstance(at, str):  # defensive: SQLite without the DateTime result processor
        at = datetime.fromisoformat(at)
    return Decision(
        request_id=row[0],
        at=at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC),
        customer_id=row[2],
        channel=row[3],
        model_version=row[4],
        items=json.loads(row[5]),
        removed=json.loads(row[6]),
        experiment_id=row[7],
        arm=row[8],
        fallback=bool(row[9]),
        latency_ms=row[10],
        known=bool(row[11]),
    )


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
