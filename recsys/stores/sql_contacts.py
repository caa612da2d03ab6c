"""Outbound contacts in SQL: the history the contact policy reads, reservations, campaign stats.

The policy holds across processes the way offer caps do: `reserve` locks each customer's row in
`contact_locks` (an upsert: a row lock on PostgreSQL, the write lock on SQLite), recounts the
customers' contacts and inserts those the limits still allow, in one transaction per batch.
Customers are locked in id order, so two campaigns over overlapping customers cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from recsys.campaigns.policy import DELIVERED, Contacts, Touches, limit_blocks
from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.settings import ContactPolicy
from recsys.stores.db import SQLITE, make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import (
    OFFER_ID,
    REQUEST_ID,
    contact_locks,
    contacts,
    events,
    offer_deliveries,
    offers,
)

IDS_PER_QUERY: Final = 2_000  # customer ids in one IN list (SQLite binds at most 32766)
TOUCH_EVENTS: Final = (Events.impression, Events.click, Events.reject)
OPENED: Final = (Events.impression, Events.view)
CONVERTED: Final = (Events.apply, Events.purchase)
ProductIndex = Callable[[list[str]], np.ndarray]  # product ids -> internal ids (-1 unknown)


@dataclass(frozen=True)
class ContactItem:
    """One product of a contact message."""

    product_id: str
    rank: int
    offer_id: str | None = None


@dataclass(frozen=True)
class Message:
    """One outbound contact: a customer, its request id, the products it carries."""

    customer_id: str
    request_id: str
    items: tuple[ContactItem, ...]


@dataclass(frozen=True)
class ChannelStats:
    """A campaign's results on one channel (distinct contacts each)."""

    channel: str
    contacted: int
    opened: int  # an impression or a view reported with the contact's request id
    clicked: int
    converted: int  # an apply or a purchase reported with the contact's request id


class ContactStore:
    """Contacts and their locks over SQLAlchemy (SQLite or PostgreSQL)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def history(
        self,
        customer_ids: Sequence[str],
        product_index: ProductIndex,
        policy: ContactPolicy,
        now: datetime,
    ) -> tuple[Contacts, Touches]:
        """The contacts and product touches of `customer_ids` that the policy reads at `now`."""
        rows = {c: i for i, c in enumerate(customer_ids)}
        with unavailable("contact store", "read contact history"), self.engine.connect() as conn:
            messages = _messages(conn, list(rows), policy, now)
            touched = _touches(conn, list(rows), policy, now)
        contacted = Contacts(
            np.array([rows[c] for c, _, _ in messages], dtype=np.int64),
            np.array([ch for _, ch, _ in messages], dtype=object),
            _moments([at for _, _, at in messages]),
        )
        products = product_index([p for _, p, _, _ in touched]) if touched else np.zeros(0)
        return contacted, Touches(
            np.array([rows[c] for c, _, _, _ in touched], dtype=np.int64),
            np.asarray(products, dtype=np.int64),
            np.array([k for _, _, k, _ in touched], dtype=object),
            _moments([at for _, _, _, at in touched]),
        )

    def reserve(
        self,
        *,
        campaign: str,
        run_id: str,
        channel: str,
        messages: Sequence[Message],
        policy: ContactPolicy,
        now: datetime,
    ) -> np.ndarray:
        """Record the messages the limits still allow (atomic); (len(messages),) bool."""
        now = _utc(now)
        ids = [m.customer_id for m in messages]
        if len(set(ids)) != len(ids):
            raise ValueError("reserve: a customer appears twice among the messages")
        accepted = np.zeros(len(messages), dtype=bool)
        if not messages:
            return accepted
        with unavailable("contact store", "reserve contacts"), self.engine.begin() as conn:
            _lock(conn, sorted(ids), now)
            rows = {c: i for i, c in enumerate(ids)}
            seen = _messages(conn, ids, policy, now)
            recount = Contacts(
                np.array([rows[c] for c, _, _ in seen], dtype=np.int64),
                np.array([ch for _, ch, _ in seen], dtype=object),
                _moments([at for _, _, at in seen]),
            )
            full = limit_blocks(policy, recount, channel=channel, at=now, b=len(ids))
            accepted = ~np.logical_or.reduce(list(full.values()))
            values = [
                {
                    "campaign": campaign,
                    "run_id": run_id,
                    REQUEST_ID: m.request_id,
                    C.customer_id: m.customer_id,
                    C.channel: channel,
                    C.product_id: item.product_id,
                    OFFER_ID: item.offer_id,
                    "rank": item.rank,
                    "at": now,
                }
                for m, ok in zip(messages, accepted.tolist(), strict=True)
                if ok
                for item in m.items
            ]
            if values:
                conn.execute(contacts.insert(), values)
        return accepted

    def stats(self, campaign: str) -> list[ChannelStats]:
        """Per channel: contacts of the campaign, and those opened, clicked and converted."""
        sent = (
            sa.select(contacts.c[REQUEST_ID], contacts.c[C.channel])
            .where(contacts.c.campaign == campaign)
            .distinct()
            .subquery()
        )
        contacted = sa.select(sent.c[C.channel], sa.func.count()).group_by(sent.c[C.channel])
        answered = (
            sa.select(
                sent.c[C.channel], events.c[C.event], sa.func.count(sa.distinct(sent.c[REQUEST_ID]))
            )
            .join(events, events.c[REQUEST_ID] == sent.c[REQUEST_ID])
            .group_by(sent.c[C.channel], events.c[C.event])
        )
        with unavailable("contact store", "count campaign results"), self.engine.connect() as c:
            totals = dict(c.execute(contacted).all())
            found: dict[tuple[str, str], int] = {
                (ch, e): int(n) for ch, e, n in c.execute(answered)
            }
            # a contact both viewed and given an impression is one opened contact
            opened = _distinct_of(c, sent, OPENED)
            converted = _distinct_of(c, sent, CONVERTED)
        return [
            ChannelStats(
                str(ch),
                int(n),
                opened.get(ch, 0),
                found.get((ch, Events.click), 0),
                converted.get(ch, 0),
            )
            for ch, n in sorted(totals.items())
        ]

    def count(self, campaign: str | None = None) -> int:
        """Contact rows (products contacted), of one campaign or of all."""
        query = sa.select(sa.func.count()).select_from(contacts)
        if campaign is not None:
            query = query.where(contacts.c.campaign == campaign)
        with unavailable("contact store", "count contacts"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def open_contact_store(url: str) -> ContactStore:
    """A contact store on `url`, migrated to the newest schema."""
    engine = make_engine(url, fsync_each_commit=sa.make_url(url).get_backend_name() != SQLITE)
    with unavailable("contact store", "migrate the store"):
        upgrade(engine)
    return ContactStore(engine)


def _messages(
    conn: sa.Connection, ids: list[str], policy: ContactPolicy, now: datetime
) -> list[tuple[str, str, datetime]]:
    """(customer, channel, at) of each contact message near `now` (both sides of the window)."""
    days = max([policy.outbound_limit.days, *(v.days for v in policy.channel_limits.values())])
    span = timedelta(days=days)
    out = []
    for chunk in _chunks(ids):
        query = (
            sa.select(contacts.c[C.customer_id], contacts.c[C.channel], contacts.c.at)
            .where(
                contacts.c[C.customer_id].in_(chunk),
                contacts.c.at > now - span,
                contacts.c.at < now + span,
            )
            .group_by(
                contacts.c[REQUEST_ID],
                contacts.c[C.customer_id],
                contacts.c[C.channel],
                contacts.c.at,
            )
        )
        out += [(str(c), str(ch), _utc(at)) for c, ch, at in conn.execute(query)]
    return out


def _touches(
    conn: sa.Connection, ids: list[str], policy: ContactPolicy, now: datetime
) -> list[tuple[str, str, str, datetime]]:
    """(customer, product, kind, at) of the touches the suppressions read."""
    event_since = now - timedelta(days=max(policy.suppress_days, policy.reject_days))
    repeat_since = now - timedelta(days=policy.repeat_days)
    out: list[tuple[str, str, str, datetime]] = []
    e, d = events, offer_deliveries
    for chunk in _chunks(ids):
        shown = sa.select(
            e.c[C.customer_id], e.c[C.product_id], e.c[C.event], e.c[C.timestamp]
        ).where(
            e.c[C.customer_id].in_(chunk),
            e.c[C.event].in_(TOUCH_EVENTS),
            e.c[C.timestamp] >= event_since,
        )
        delivered = (
            sa.select(d.c[C.customer_id], offers.c[C.product_id], sa.literal(DELIVERED), d.c.at)
            .join(offers, offers.c.id == d.c.offer_id)
            .where(d.c[C.customer_id].in_(chunk), d.c.at >= repeat_since)
        )
        pushed = sa.select(
            contacts.c[C.customer_id],
            contacts.c[C.product_id],
            sa.literal(DELIVERED),
            contacts.c.at,
        ).where(contacts.c[C.customer_id].in_(chunk), contacts.c.at >= repeat_since)
        for query in (shown, delivered, pushed):
            out += [(str(c), str(p), str(k), _utc(at)) for c, p, k, at in conn.execute(query)]
    return out


def _lock(conn: sa.Connection, ids: list[str], now: datetime) -> None:
    """Take the customers' lock rows (created on first use), in the order given."""
    dialect = postgresql if conn.dialect.name != SQLITE else sqlite
    for chunk in _chunks(ids):
        stmt = dialect.insert(contact_locks)
        stmt = stmt.on_conflict_do_update(
            index_elements=[contact_locks.c[C.customer_id]], set_={"at": stmt.excluded.at}
        )
        conn.execute(stmt, [{C.customer_id: c, "at": now} for c in chunk])


def _distinct_of(conn: sa.Connection, sent: sa.Subquery, kinds: tuple[str, ...]) -> dict[str, int]:
    """channel -> contacts with an event of one of `kinds` reported against them."""
    query = (
        sa.select(sent.c[C.channel], sa.func.count(sa.distinct(sent.c[REQUEST_ID])))
        .join(events, events.c[REQUEST_ID] == sent.c[REQUEST_ID])
        .where(events.c[C.event].in_(kinds))
        .group_by(sent.c[C.channel])
    )
    return {str(ch): int(n) for ch, n in conn.execute(query)}


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(ids), IDS_PER_QUERY):
        yield ids[i : i + IDS_PER_QUERY]


def _moments(values: list[datetime]) -> np.ndarray:
    return np.array([v.replace(tzinfo=None) for v in values], dtype="datetime64[us]")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
