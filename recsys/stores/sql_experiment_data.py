"""What an experiment's report reads: its decisions, and its customers' events, as frames."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.experiments.report import empty_decisions, empty_events, violations_of
from recsys.experiments.value import values_of
from recsys.stores.errors import unavailable
from recsys.stores.tables import REQUEST_ID, decisions, events

# events a channel stamped a little before the server's decision still count (clock skew)
SKEW = timedelta(minutes=5)


def experiment_decisions(engine: sa.Engine, experiment_id: str) -> pl.DataFrame:
    """The experiment's answers: customer, arm, request, time, fallback, latency, model,
    and the products each showed although suitability removed them (violations)."""
    t = decisions.c
    query = sa.select(
        t[C.customer_id],
        t.arm,
        t[REQUEST_ID],
        t.at,
        t.fallback,
        t.latency_ms,
        t.model_version,
        t["items"],
        t.removed,
    ).where(t.experiment_id == experiment_id)
    with unavailable("decision store", "read an experiment's decisions"), engine.connect() as c:
        rows = c.execute(query).all()
    if not rows:
        return empty_decisions()
    return pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "arm": [r[1] for r in rows],
            "request_id": [r[2] for r in rows],
            "at": _utc_series([r[3] for r in rows]),
            "fallback": [bool(r[4]) for r in rows],
            "latency_ms": [r[5] for r in rows],
            "violations": violations_of(
                pl.Series([r[7] for r in rows], dtype=pl.String),
                pl.Series([r[8] for r in rows], dtype=pl.String),
            ),
            "model_version": [r[6] for r in rows],
        },
        schema=empty_decisions().schema,
    )


def experiment_values(engine: sa.Engine, experiment_id: str) -> dict[str, float]:
    """Product id -> the value the experiment's answers logged for it (recsys.ranking)."""
    t = decisions.c
    query = sa.select(t["items"]).where(t.experiment_id == experiment_id)
    with unavailable("decision store", "read an experiment's values"), engine.connect() as c:
        return values_of(r[0] for r in c.execute(query))


def experiment_events(engine: sa.Engine, since: datetime, customers: pl.Series) -> pl.DataFrame:
    """Impressions, clicks and purchases from `since` (less SKEW) of `customers`."""
    if customers.is_empty():
        return empty_events()
    t = events.c
    query = sa.select(
        t[C.customer_id], t[C.product_id], t[C.event], t[C.timestamp], t[REQUEST_ID]
    ).where(t[C.timestamp] >= since - SKEW, t[C.event].in_(["impression", "click", "purchase"]))
    with unavailable("event store", "read an experiment's events"), engine.connect() as c:
        rows = c.execute(query).all()
    if not rows:
        return empty_events()
    frame = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "product_id": [r[1] for r in rows],
            "event": [r[2] for r in rows],
            "timestamp": _utc_series([r[3] for r in rows]),
            "request_id": [r[4] or "" for r in rows],
        },
        schema=empty_events().schema,
    )
    return frame.join(customers.unique().to_frame("customer_id"), on="customer_id", how="semi")


def _utc_series(moments: list[datetime]) -> pl.Series:
    """Stored moments as UTC datetimes, in bulk (SQLite gives naive UTC, PostgreSQL aware)."""
    raw = pl.Series(moments)
    if not isinstance(raw.dtype, pl.Datetime):
        raise TypeError(f"expected datetimes, got {raw.dtype}")
    raw = raw.dt.cast_time_unit("us")
    if raw.dtype.time_zone is None:
        return raw.dt.replace_time_zone("UTC")
    return raw.dt.convert_time_zone("UTC")
