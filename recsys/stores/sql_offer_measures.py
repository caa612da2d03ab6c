"""What the offer store counts for offers' stats: their events and served slots, by channel
or by UTC day, for any number of offers in three grouped reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.stores.tables import OFFER_ID, REQUEST_ID, events, offer_deliveries

SERVED = "served"  # the event name of a delivered slot (recsys.offers.stats.SERVED)


def event_counts(
    conn: sa.Connection, products: Mapping[str, str]
) -> dict[str, list[tuple[str, str, int]]]:
    """offer id -> (channel, event type, count) of its events and served slots ('served'),
    for the offers of `products` (offer id -> its product id)."""
    channel = sa.func.coalesce(events.c[C.channel], "")
    return _grouped(conn, products, channel, offer_deliveries.c[C.channel])


def daily_counts(
    conn: sa.Connection, offer_id: str, product_id: str
) -> list[tuple[date, str, int]]:
    """(UTC day, event type, count) of the offer's events, and its served slots as 'served'."""
    days = sa.func.date(events.c[C.timestamp]), sa.func.date(offer_deliveries.c.at)
    rows = _grouped(conn, {offer_id: product_id}, *days)[offer_id]
    return [(_day(d), e, n) for d, e, n in rows]


def _grouped(
    conn: sa.Connection,
    products: Mapping[str, str],
    event_key: sa.ColumnElement,
    delivery_key: sa.ColumnElement,
) -> dict[str, list[tuple[Any, str, int]]]:
    """offer id -> (key, event type, count) of its events and served slots, in three reads.

    An event is the offer's when it carries the offer id, or when it names no offer but
    answers a request in which the offer placed this same product (joined by request id).
    """
    ids = list(products)
    out: dict[str, list[tuple[Any, str, int]]] = {i: [] for i in ids}
    direct = (
        sa.select(events.c[OFFER_ID], event_key, events.c[C.event], sa.func.count())
        .where(events.c[OFFER_ID].in_(ids))
        .group_by(events.c[OFFER_ID], event_key, events.c[C.event])
    )
    for offer_id, key, event, n in conn.execute(direct):
        out[offer_id].append((key, str(event), int(n)))
    placed = (
        sa.select(offer_deliveries.c.offer_id, offer_deliveries.c[REQUEST_ID])
        .where(offer_deliveries.c.offer_id.in_(ids))
        .distinct()
        .subquery()
    )
    product = events.c[C.product_id]
    via = (
        sa.select(placed.c.offer_id, product, event_key, events.c[C.event], sa.func.count())
        .join(placed, events.c[REQUEST_ID] == placed.c[REQUEST_ID])
        .where(sa.or_(events.c[OFFER_ID].is_(None), events.c[OFFER_ID] == ""))
        .group_by(placed.c.offer_id, product, event_key, events.c[C.event])
    )
    for offer_id, product_id, key, event, n in conn.execute(via):
        if product_id == products[offer_id]:
            out[offer_id].append((key, str(event), int(n)))
    served = (
        sa.select(offer_deliveries.c.offer_id, delivery_key, sa.func.count())
        .where(offer_deliveries.c.offer_id.in_(ids))
        .group_by(offer_deliveries.c.offer_id, delivery_key)
    )
    for offer_id, key, n in conn.execute(served):
        out[offer_id].append((key, SERVED, int(n)))
    return out


def exposed_customers(conn: sa.Connection, offer_id: str, since: datetime) -> list[str]:
    """Customers with an impression or a delivery of the offer since `since`."""
    shown = sa.select(events.c[C.customer_id]).where(
        events.c[OFFER_ID] == offer_id, events.c[C.timestamp] >= since
    )
    served = sa.select(offer_deliveries.c[C.customer_id]).where(
        offer_deliveries.c.offer_id == offer_id, offer_deliveries.c.at >= since
    )
    return sorted({str(c) for (c,) in conn.execute(sa.union(shown, served))})


def _day(value: object) -> date:
    """SQLite's date() gives text, PostgreSQL's a date."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))
