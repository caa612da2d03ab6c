"""SqlEventStore: the EventStore behaviour suite, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
import sqlalchemy as sa

from recsys.columns import Columns as C
from recsys.stores.base import EventStore, StoredEvent, StoreUnavailable
from recsys.stores.db import make_engine
from recsys.stores.sql_events import (
    EVENT_LOG_SCHEMA,
    IDS_PER_QUERY,
    SqlEventStore,
    open_event_store,
)
from recsys.stores.tables import ID_LENGTH, OFFER_ID, REQUEST_ID

T0 = datetime(2024, 7, 1, 9, 0, 0, 123456, tzinfo=UTC)
PLUS_2 = timezone(timedelta(hours=2))


def event(customer: str, product: str, seconds: float, kind: str = "purchase", **kw) -> StoredEvent:
    """An event `seconds` after T0."""
    return StoredEvent(customer, product, kind, T0 + timedelta(seconds=seconds), **kw)


def micros(moment: datetime) -> int:
    """UTC microseconds since the epoch, as RecentEvents keeps a timestamp."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def as_rows(frame: pl.DataFrame) -> list[tuple]:
    return [tuple(r) for r in frame.select(*EVENT_LOG_SCHEMA).iter_rows()]


def expected_rows(events: list[StoredEvent]) -> list[tuple]:
    return [
        (e.customer_id, e.product_id, e.event, e.timestamp.astimezone(UTC), e.channel, e.amount,
         e.request_id, e.offer_id)
        for e in events
    ]


def test_is_an_event_store(store: SqlEventStore) -> None:
    assert isinstance(store, SqlEventStore)
    typed: EventStore = store  # the Protocol, checked structurally by type checkers
    assert typed.count() == 0


def test_append_then_export_round_trips_every_field(store: SqlEventStore) -> None:
    events = [
        event("c1", "p1", 0, channel="mobile", amount=120.5, request_id="r-1", offer_id="o-9"),
        # a non-UTC zone is stored as the same instant in UTC; microseconds survive
        StoredEvent("c2", "p2", "view", datetime(2024, 7, 1, 12, 0, 0, 7, tzinfo=PLUS_2)),
        event("c1", "p3", 5, kind="close", channel="branch", amount=0.0),
    ]
    assert store.append(events) == 3
    out = store.export()
    assert out.schema == pl.Schema(EVENT_LOG_SCHEMA)
    assert list(out.columns[:6]) == [C.customer_id, C.product_id, C.event, C.timestamp,
                                     C.channel, C.amount]
    # oldest first: the +02:00 view (10:00:00.000007 UTC) comes after T0 and T0 + 5 s
    assert as_rows(out) == expected_rows([events[0], events[2], events[1]])
    assert store.count() == 3


def test_empty_append_stores_nothing(store: SqlEventStore) -> None:
    assert store.append([]) == 0
    assert store.count() == 0
    assert store.export().schema == pl.Schema(EVENT_LOG_SCHEMA)


def test_recent_filters_by_customer_and_strictly_after_since(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 10), event("c2", "p1", 11), event("c1", "p2", 20)])
    store.append([event("c1", "p3", 0), event("c3", "p1", 30)])  # older, recorded later
    got = store.recent(["c1", "c3", "unknown"], since=T0)
    # timestamp == since is already in the snapshot: excluded
    assert got.customer_id == ["c1", "c1", "c3"]
    assert got.product_id == ["p1", "p2", "p1"]
    assert got.micros == [micros(T0 + timedelta(seconds=s)) for s in (10, 20, 30)]
    later = store.recent(["c1"], since=T0 + timedelta(seconds=10))
    assert later.product_id == ["p2"]


def test_recent_keeps_insert_order_for_equal_timestamps(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 1, kind="purchase"), event("c1", "p1", 1, kind="close")])
    store.append([event("c1", "p1", 1, kind="view")])
    assert store.recent(["c1"], since=T0).event == ["purchase", "close", "view"]


def test_recent_of_nobody_is_empty(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 1)])
    for ids in ([], ["nobody"]):
        assert len(store.recent(ids, since=T0)) == 0


def test_many_customers_come_back_in_one_time_order(store: SqlEventStore) -> None:
    n = IDS_PER_QUERY * 2 + 7  # several IN (...) chunks
    # customer i's event is at T0 + (n - i) s: the id order is the reverse of the time order
    store.append([event(f"c{i:04d}", "p1", n - i) for i in range(n)])
    got = store.recent([f"c{i:04d}" for i in range(n)], since=T0 - timedelta(days=1))
    assert len(got) == n
    assert got.micros == sorted(got.micros)
    assert got.customer_id == [f"c{i:04d}" for i in reversed(range(n))]


def random_events(rng: random.Random, n: int) -> list[StoredEvent]:
    """Events of c1..c3 with equal instants, sub-second times, other zones, nulls and amounts."""
    offsets = [0, 1, 1, 2.5, 60, 3600.000001, 86_400 * 40]  # repeats: ties in time
    zones = [UTC, PLUS_2, timezone(timedelta(hours=-5, minutes=-30))]
    return [
        StoredEvent(
            rng.choice(["c1", "c2", "c3"]),
            rng.choice(["p1", "p2", "é-ü"]),
            rng.choice(["purchase", "close", "view", "click", "impression"]),
            (T0 + timedelta(seconds=rng.choice(offsets))).astimezone(rng.choice(zones)),
            channel=rng.choice([None, "mobile", "web"]),
            amount=rng.choice([None, 0.0, 120.5, -3.25]),
            request_id=rng.choice([None, "r-1"]),
            offer_id=rng.choice([None, "o-9"]),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("seed", range(3))
def test_recent_finds_what_export_finds_for_those_customers(
    store: SqlEventStore, seed: int
) -> None:
    """Per-customer reads and the full export agree, in order, across zones and ties."""
    rng = random.Random(seed)
    for _ in range(3):  # several appends: insert order decides ties across batches too
        store.append(random_events(rng, rng.randint(1, 40)))
    since = T0 - timedelta(seconds=1) if seed % 2 else T0  # T0 itself excluded on even seeds
    exported = store.export(since=since)
    for ids in (["c1"], ["c2", "c3"], ["c1", "c2", "c3", "nobody"], ["nobody"]):
        got = store.recent(ids, since)
        expected = exported.filter(pl.col(C.customer_id).is_in(ids))
        assert got.customer_id == expected[C.customer_id].to_list(), ids
        assert got.product_id == expected[C.product_id].to_list(), ids
        assert got.event == expected[C.event].to_list(), ids
        assert got.micros == [micros(t) for t in expected[C.timestamp]], ids


def test_each_read_filters_by_its_own_since_when_reads_alternate(store: SqlEventStore) -> None:
    """The bound `since` is kept between reads: a read with another `since` must not reuse it
    (a new model's snapshot time, or a batch beside single reads)."""
    store.append([StoredEvent("c1", "p1", "purchase", T0 + timedelta(hours=h)) for h in range(4)])
    zones = [UTC, PLUS_2]
    for _ in range(2):  # alternate: each change of since binds the new one
        for h in range(-1, 4):
            since = (T0 + timedelta(hours=h)).astimezone(zones[h % len(zones)])
            got = store.recent(["c1"], since)
            assert len(got) == 3 - h, (since, got)
            assert len(store.recent(["c1", "c2"], since)) == 3 - h


def test_reads_bind_each_id_and_since_in_the_dialects_paramstyle(store: SqlEventStore) -> None:
    read = store._read_statement(3)
    since = T0.astimezone(UTC)
    params = read.parameters(["a", "b", "c"], since)
    bound = read.since(since) if read.since is not None else since
    expected = {"customer_0": "a", "customer_1": "b", "customer_2": "c", "since": bound}
    if read.order is None:  # PostgreSQL: named parameters
        assert not read.ids_first
        assert params == expected
        return
    assert read.ids_first  # SQLite: ?, in the statement's order
    assert dict(zip(read.order, params, strict=True)) == expected


def test_export_since(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 1), event("c2", "p1", 2), event("c3", "p1", 3)])
    got = store.export(since=T0 + timedelta(seconds=1))
    assert got[C.customer_id].to_list() == ["c2", "c3"]
    assert store.export(since=T0 + timedelta(days=1)).height == 0


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (StoredEvent("c1", "p1", "view", datetime(2024, 7, 1)), r"events\[1\]\.timestamp"),
        (event("c1", "p1", 1, amount=math.nan), r"events\[1\]\.amount: must be finite"),
        (event("c1", "x" * (ID_LENGTH + 1), 1), r"events\[1\]\.product_id: .* at most 128"),
        (event("", "p1", 1), r"events\[1\]\.customer_id: must be a non-empty string"),
        (event("c1", "p1", 1, request_id=7), rf"events\[1\]\.{REQUEST_ID}"),
        (event("c1", "p\x001", 1), r"events\[1\]\.product_id: must not contain NUL"),
    ],
)
def test_a_bad_event_rejects_the_whole_batch(
    store: SqlEventStore, bad: StoredEvent, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.append([event("c1", "p1", 0), bad])
    assert store.count() == 0


def test_since_must_be_timezone_aware(store: SqlEventStore) -> None:
    with pytest.raises(ValueError, match="since: must be a timezone-aware datetime"):
        store.recent(["c1"], since=datetime(2024, 1, 1))


def test_two_stores_on_one_database_see_each_others_writes(store_url: str) -> None:
    first, second = open_event_store(store_url), open_event_store(store_url)
    try:
        first.append([event("c1", "p1", 1, offer_id="o-1")])
        assert second.export(since=T0)[OFFER_ID].to_list() == ["o-1"]
        second.append([event("c1", "p2", 2)])
        assert first.recent(["c1"], since=T0).product_id == ["p1", "p2"]
        assert first.count() == second.count() == 2
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_reopening_keeps_the_events(store_url: str) -> None:
    first = open_event_store(store_url)
    first.append([event("c1", "p1", 1)])
    first.engine.dispose()
    again = open_event_store(store_url)  # create_tables on an existing table is a no-op
    assert as_rows(again.export()) == expected_rows([event("c1", "p1", 1)])
    again.engine.dispose()


APPEND_THEN_WAIT = textwrap.dedent(
    """
    import sys, time
    from datetime import UTC, datetime
    from recsys.stores.base import StoredEvent
    from recsys.stores.sql_events import open_event_store

    store = open_event_store(sys.argv[1])
    at = datetime(2024, 7, 1, 9, tzinfo=UTC)
    n = store.append([StoredEvent(f"c{i}", "p1", "purchase", at) for i in range(25)])
    print(f"appended {n}", flush=True)
    time.sleep(120)  # killed long before this ends
    """
)


def test_an_acknowledged_append_survives_kill_9(store_url: str) -> None:
    open_event_store(store_url).engine.dispose()  # tables exist before the child starts
    child = subprocess.Popen(
        [sys.executable, "-c", APPEND_THEN_WAIT, store_url],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    try:
        line = child.stdout.readline()
        assert line.strip() == "appended 25", line
        os.kill(child.pid, signal.SIGKILL)  # no clean shutdown, no connection close
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    reopened = open_event_store(store_url)
    assert reopened.count() == 25
    assert sorted(reopened.export()[C.customer_id].to_list()) == sorted(
        f"c{i}" for i in range(25)
    )
    reopened.close()


@contextmanager
def write_locked(url: str) -> Iterator[None]:
    """Hold the events table's write lock from another connection."""
    holder = make_engine(url)
    with holder.connect() as conn:
        if holder.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            conn.begin()
            conn.execute(sa.text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    holder.dispose()


def test_a_store_locked_past_the_timeout_is_unavailable(store_url: str) -> None:
    open_event_store(store_url).engine.dispose()
    impatient = SqlEventStore(make_engine(store_url, timeout_s=0.3))
    with write_locked(store_url), pytest.raises(StoreUnavailable, match="cannot append events"):
        impatient.append([event("c1", "p1", 1)])
    assert impatient.count() == 0  # nothing half-written once the lock is gone
    impatient.engine.dispose()


@pytest.mark.postgres
def test_an_unreachable_server_is_unavailable_not_a_crash() -> None:
    nowhere = SqlEventStore(make_engine("postgresql://postgres@127.0.0.1:1/test", timeout_s=1))
    with pytest.raises(StoreUnavailable, match="cannot append events"):
        nowhere.append([event("c1", "p1", 1)])
    with pytest.raises(StoreUnavailable, match="cannot read events"):
        nowhere.recent(["c1"], since=T0)


def test_product_counts_group_by_product_and_event_after_since(store: SqlEventStore) -> None:
    store.append(
        [
            event("c1", "NEW", 0, "impression"),  # at the bound: not after it
            event("c1", "NEW", 5, "impression"),
            event("c2", "NEW", 6, "impression"),
            event("c2", "NEW", 7, "purchase"),
            event("c3", "OLD", 8, "impression"),
            event("c3", "NEW", 9, "view"),
        ]
    )
    since = T0
    got = store.product_counts(["NEW", "GONE"], since, ["impression", "purchase"])
    assert got == {("NEW", "impression"): 2, ("NEW", "purchase"): 1}
    assert store.product_counts([], since, ["impression"]) == {}
