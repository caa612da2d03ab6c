"""The decision log in SQL (SQLite or PostgreSQL): what each Recommend answer showed, and why.

Items and removals are JSON text (the same on both backends): they are read whole by the
audit, never filtered on in SQL. Timestamps are UTC, like every table of the store.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
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
_LIMITS: Final = {
    REQUEST_ID: ID_LENGTH,
    C.customer_id: ID_LENGTH,
    C.channel: NAME_LENGTH,
    MODEL_VERSION: ID_LENGTH,
}


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
    # `items` and `removed` already as JSON (the decision log renders them from cached pieces,
    # the same text json.dumps gives); empty = dump them here
    items_json: str = field(default="", compare=False, repr=False)
    removed_json: str = field(default="", compare=False, repr=False)


class DecisionStore:
    """Append-only decision log over SQLAlchemy; DB errors surface as StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def create_tables(self) -> None:
        """Migrate the store to the newest schema (a no-op when it is there already)."""
        with unavailable("decision store", "migrate the store"):
            upgrade(self.engine)

    def append(self, decisions: Sequence[Decision]) -> int:
        """Store all decisions in one transaction; ValueError names a row SQL cannot keep."""
        if not decisions:
            return 0
        rows = [_row(i, d) for i, d in enumerate(decisions)]
        with unavailable("decision store", "append decisions"), self.engine.begin() as conn:
            conn.execute(decisions_table.insert(), rows)
        return len(rows)

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


def _row(index: int, d: Decision) -> dict[str, object]:
    """One insert row; ValueError (naming decisions[index].field) for what SQL cannot keep."""
    row: dict[str, object] = {
        REQUEST_ID: d.request_id,
        AT: _utc(d.at, f"decisions[{index}].{AT}"),
        C.customer_id: d.customer_id,
        C.channel: d.channel,
        MODEL_VERSION: d.model_version,
        # ensure_ascii (the default) keeps NUL and odd characters escaped: PostgreSQL-safe text
        ITEMS: d.items_json or json.dumps(d.items, separators=(",", ":")),
        REMOVED: d.removed_json or json.dumps(d.removed, separators=(",", ":")),
    }
    for name, limit in _LIMITS.items():
        value = row[name]
        if not isinstance(value, str) or not value or len(value) > limit:
            raise ValueError(
                f"decisions[{index}].{name}: must be a non-empty string of at most {limit} chars"
            )
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            raise ValueError(f"decisions[{index}].{name}: must not contain NUL characters")
    return row


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
    )


def _utc(moment: datetime, name: str) -> datetime:
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name}: must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)
