"""What the offer store counts for an offer's stats: which events are the offer's, per day.

An event is the offer's when it carries the offer id, or when it names no offer but answers
a request in which the offer placed this same product (joined by request id).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.stores.tables import OFFER_ID, REQUEST_ID, events, offer_deliveries

SERVED = "served"  # the event name of a delivered slot (recsys.offers.stats.SERVED)


def attributed(offer_id: str, product_id: str) -> sa.ColumnElement[bool]:
    """Events of the offer: its id, or its product in an answer it placed that product in."""
    delivered = sa.select(offer_deliveries.c[REQUEST_ID]).where(
        offer_deliveries.c.offer_id == offer_id
    )
    return sa.or_(
        events.c[OFFER_ID] == offer_id,
        sa.and_(
            sa.or_(events.c[OFFER_ID].is_(None), events.c[OFFER_ID] == ""),
            events.c[C.product_id] == product_id,
            events.c[REQUEST_ID].in_(delivered),
        ),
    )


def daily_counts(
    conn: sa.Connection, offer_id: str, product_id: str
) -> list[tuple[date, str, int]]:
    """(UTC day, event type, count) of the offer's events, and its served slots as 'served'."""
    day = sa.func.date(events.c[C.timestamp])
    shown = (
        sa.select(day, events.c[C.event], sa.func.count())
        .where(attributed(offer_id, product_id))
        .group_by(day, events.c[C.event])
    )
    served_day = sa.func.date(offer_deliveries.c.at)
    served = (
        sa.select(served_day, sa.literal(SERVED), sa.func.count())
        .where(offer_deliveries.c.offer_id == offer_id)
        .group_by(served_day)
    )
    rows = list(conn.execute(shown)) + list(conn.execute(served))
    return [(_day(d), str(e), int(n)) for d, e, n in rows]


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
