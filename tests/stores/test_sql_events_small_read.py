"""for_customers' small reads (typed and sorted in Python) equal its polars frame path."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest

import recsys.stores.sql_events as sql_events
from recsys.columns import Columns as C
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import EVENT_LOG_SCHEMA, SMALL_READ, SqlEventStore

T0 = datetime(2024, 7, 1, 9, 0, 0, 123456, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]


def random_events(rng: random.Random, n: int) -> list[StoredEvent]:
    """Events of c1..c3 with equal instants, sub-second times, other zones, nulls and amounts."""
    offsets = [0, 1, 1, 2.5, 60, 3600.000001, 86_400 * 40]  # repeats: ties in time
    return [
        StoredEvent(
            rng.choice(["c1", "c2", "c3"]),
            rng.choice(["p1", "p2", "é-ü"]),
            rng.choice(["purchase", "close", "view", "click", "impression"]),
            (T0 + timedelta(seconds=rng.choice(offsets))).astimezone(rng.choice(ZONES)),
            channel=rng.choice([None, "mobile", "web"]),
            amount=rng.choice([None, 0.0, 120.5, -3.25]),
            request_id=rng.choice([None, "r-1"]),
            offer_id=rng.choice([None, "o-9"]),
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("seed", range(4))
def test_small_reads_equal_the_frame_path(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    rng = random.Random(seed)
    for _ in range(3):  # several appends: insert order decides ties across batches too
        store.append(random_events(rng, rng.randint(1, 20)))
    since = T0 - timedelta(seconds=1) if seed % 2 else T0  # T0 itself excluded on odd seeds
    reads = [["c1"], ["c2", "c3"], ["c1", "c2", "c3", "nobody"]]
    small = [store.for_customers(ids, since) for ids in reads]
    monkeypatch.setattr(sql_events, "SMALL_READ", 0)
    framed = [store.for_customers(ids, since) for ids in reads]
    for got, expected in zip(small, framed, strict=True):
        assert 0 < got.height <= SMALL_READ
        assert got.schema == pl.Schema(EVENT_LOG_SCHEMA)
        assert got.equals(expected), (got, expected)
        assert got[C.timestamp].is_sorted()


@pytest.mark.parametrize("seed", range(3))
def test_recent_rows_are_the_reads_overlay_columns(store: SqlEventStore, seed: int) -> None:
    """`recent` finds what `for_customers` finds, in its order, without building a frame."""
    rng = random.Random(seed)
    for _ in range(3):
        store.append(random_events(rng, rng.randint(1, 40)))
    since = T0 - timedelta(seconds=1) if seed % 2 else T0
    for ids in (["c1"], ["c2", "c3"], ["c1", "c2", "c3", "nobody"], ["nobody"]):
        got = store.recent(ids, since)
        framed = store.for_customers(ids, since)
        assert len(got) == framed.height
        assert got.frame().equals(framed.select(got.frame().columns)), (ids, got, framed)


def test_a_read_past_the_small_size_takes_the_frame_path(
    store: SqlEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(random_events(random.Random(9), SMALL_READ + 1))

    def refused(rows: object) -> None:
        raise AssertionError("a large read was typed in Python")

    monkeypatch.setattr(sql_events, "_small_frame", refused)
    got = store.for_customers(["c1", "c2", "c3"], T0 - timedelta(days=1))
    assert got.height == SMALL_READ + 1 and got[C.timestamp].is_sorted()


def test_each_read_filters_by_its_own_since_when_reads_alternate(store: SqlEventStore) -> None:
    """The bound `since` is kept between reads: a read with another `since` must not reuse it
    (a new model's snapshot time, or a batch beside single reads)."""
    store.append([StoredEvent("c1", "p1", "purchase", T0 + timedelta(hours=h)) for h in range(4)])
    for _ in range(2):  # alternate: each change of since binds the new one
        for h in range(-1, 4):
            since = (T0 + timedelta(hours=h)).astimezone(ZONES[h % len(ZONES)])
            got = store.recent(["c1"], since)
            assert len(got) == 3 - h, (since, got)
            assert len(store.recent(["c1", "c2"], since)) == 3 - h


def test_reads_bind_each_id_and_since_in_the_dialects_paramstyle(store: SqlEventStore) -> None:
    read = store._read_statement(3, "recent")
    since = T0.astimezone(UTC)
    params = read.parameters(["a", "b", "c"], since)
    bound = read.since(since) if read.since is not None else since
    if read.order is None:  # PostgreSQL: named parameters
        assert not read.ids_first
        assert params == {"customer_0": "a", "customer_1": "b", "customer_2": "c", "since": bound}
        return
    assert read.ids_first  # SQLite: ?, in the statement's order
    assert dict(zip(read.order, params, strict=True)) == {
        "customer_0": "a",
        "customer_1": "b",
        "customer_2": "c",
        "since": bound,
    }
