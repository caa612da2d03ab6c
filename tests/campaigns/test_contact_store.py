"""The contact store on SQLite and PostgreSQL: for random histories and campaigns no customer
ever exceeds a limit, reservations recount what another process recorded, stats attribute
events by request id."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.campaigns.policy import policy_block
from recsys.settings import ContactPolicy
from recsys.stores.base import StoredEvent
from recsys.stores.sql_contacts import ContactItem, ContactStore, Message, open_contact_store
from recsys.stores.sql_events import open_event_store
from tests.stores.conftest import pg_url, sqlite_url, store_url  # noqa: F401 - fixtures

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
PRODUCTS = ["P0", "P1", "P2"]
CHANNELS = ["email", "sms", "push"]
POLICY = ContactPolicy()
_examples = itertools.count()


@pytest.fixture
def contacts(store_url: str) -> Iterator[ContactStore]:  # noqa: F811
    store = open_contact_store(store_url)
    yield store
    store.close()


def _index(ids: list[str]) -> np.ndarray:
    return np.array([PRODUCTS.index(p) if p in PRODUCTS else -1 for p in ids], dtype=np.int64)


campaigns = st.lists(
    st.tuples(
        st.sampled_from(CHANNELS),
        st.floats(0, 60),  # day of the run, in any order
        st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True),  # customers
        st.booleans(),  # the caller skips the policy mask (the recount alone must hold)
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=campaigns)
def test_no_customer_ever_exceeds_a_limit(contacts: ContactStore, runs: list) -> None:
    tag = f"x{next(_examples)}"
    for n, (channel, day, who, blind) in enumerate(runs):
        at = START + timedelta(days=day)
        ids = [f"{tag}-C{i}" for i in who]
        seen, touches = contacts.history(ids, _index, POLICY, at)
        allowed = policy_block(
            POLICY, seen, touches, channel=channel, at=at, shape=(len(ids), len(PRODUCTS))
        ).allowed()
        messages = [
            Message(c, f"{tag}-r{n}-{c}", (ContactItem(PRODUCTS[n % 3], 1),))
            for i, c in enumerate(ids)
            if blind or allowed[i].any()
        ]
        contacts.reserve(
            campaign=f"{tag}-{n}",
            run_id=f"{tag}{n}",
            channel=channel,
            messages=messages,
            policy=POLICY,
            now=at,
        )
    _assert_within_limits(contacts, tag)


def _assert_within_limits(store: ContactStore, tag: str) -> None:
    import sqlalchemy as sa

    from recsys.stores.tables import contacts

    query = sa.select(contacts.c.customer_id, contacts.c.channel, contacts.c.at).where(
        contacts.c.customer_id.like(f"{tag}-%")
    )
    with store.engine.connect() as conn:
        rows = [(c, ch, at.replace(tzinfo=None)) for c, ch, at in conn.execute(query)]
    limits = {
        **{ch: (lim, {ch}) for ch, lim in POLICY.channel_limits.items()},
        "any": (POLICY.outbound_limit, set(CHANNELS)),
    }
    for customer in {c for c, _, _ in rows}:
        for limit, channels in limits.values():
            moments = sorted(at for c, ch, at in rows if c == customer and ch in channels)
            window = timedelta(days=limit.days)
            for i, first in enumerate(moments):
                inside = [m for m in moments[i:] if m - first < window]
                assert len(inside) <= limit.contacts, (customer, channels, moments)


def test_a_reservation_recounts_what_another_store_recorded(store_url: str) -> None:  # noqa: F811
    first, second = open_contact_store(store_url), open_contact_store(store_url)
    try:
        # both read an empty history, then both try to email the same customers
        for store in (first, second):
            seen, _ = store.history(["A", "B"], _index, POLICY, START)
            assert len(seen.row) == 0
        message = [Message(c, f"r1-{c}", (ContactItem("P1", 1),)) for c in ("A", "B")]
        got = first.reserve(
            campaign="one", run_id="r1", channel="email", messages=message, policy=POLICY, now=START
        )
        again = [Message(c, f"r2-{c}", (ContactItem("P2", 1),)) for c in ("A", "B", "C")]
        late = second.reserve(
            campaign="two",
            run_id="r2",
            channel="email",
            messages=again,
            policy=POLICY,
            now=START + timedelta(hours=1),
        )
        assert got.tolist() == [True, True] and late.tolist() == [False, False, True]
        sms = [Message("A", "r3-A", (ContactItem("P2", 1),))]
        assert second.reserve(
            campaign="three", run_id="r3", channel="sms", messages=sms, policy=POLICY, now=START
        ).tolist() == [True]
    finally:
        first.close()
        second.close()


def test_stats_attribute_events_by_request_id(store_url: str) -> None:  # noqa: F811
    store = open_contact_store(store_url)
    events = open_event_store(store_url)
    try:
        messages = [
            Message(c, f"s1-{c}", (ContactItem("P1", 1), ContactItem("P2", 2)))
            for c in ("A", "B", "C")
        ]
        store.reserve(
            campaign="spring",
            run_id="s1",
            channel="email",
            messages=messages,
            policy=POLICY,
            now=START,
        )
        at = START + timedelta(hours=2)

        def event(c: str, kind: str, request: str | None) -> StoredEvent:
            return StoredEvent(c, "P1", kind, at, "email", None, request, None)

        events.append(
            [
                event("A", "impression", "s1-A"),
                event("A", "view", "s1-A"),
                event("A", "click", "s1-A"),
                event("A", "purchase", "s1-A"),
                event("B", "impression", "s1-B"),
                event("C", "click", None),  # not attributed
            ]
        )
        [row] = store.stats("spring")
        assert (row.channel, row.contacted, row.opened, row.clicked, row.converted) == (
            "email",
            3,
            2,
            1,
            1,
        )
        assert store.stats("autumn") == []
        assert store.count("spring") == 6
    finally:
        store.close()
        events.close()
