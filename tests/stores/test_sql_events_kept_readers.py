"""SqlEventStore on a SQLite file reads on one kept connection per thread: never stale, never
holding the pool, closed at close(), replaced after an error."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recsys.stores.base import StoredEvent, StoreUnavailable
from recsys.stores.sql_events import SqlEventStore, open_event_store

T0 = datetime(2024, 7, 1, 9, tzinfo=UTC)


def event(customer: str, product: str, seconds: float) -> StoredEvent:
    return StoredEvent(customer, product, "purchase", T0 + timedelta(seconds=seconds))


@pytest.fixture
def store(tmp_path: Path) -> SqlEventStore:
    return open_event_store(f"sqlite:///{tmp_path / 'events.db'}")


def test_a_kept_connection_sees_what_another_process_commits_after_it_opened(
    store: SqlEventStore, tmp_path: Path
) -> None:
    assert not store.recent(["c1"], T0), "the reader's connection is opened (and kept) here"
    writer = open_event_store(f"sqlite:///{tmp_path / 'events.db'}")
    writer.append([event("c1", "p1", 1)])
    assert store.recent(["c1"], T0).product_id == ["p1"]
    writer.append([event("c1", "p2", 2)])
    assert store.recent(["c1"], T0).product_id == ["p1", "p2"]
    writer.close()
    store.close()


def test_reading_threads_hold_no_pooled_connection(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 1)])
    barrier = threading.Barrier(20)
    found: list[list[str]] = []

    def read() -> None:
        barrier.wait()  # all 20 threads at once: more than the pool's 5 + 10 overflow
        found.append(store.recent(["c1"], T0).product_id)

    threads = [threading.Thread(target=read) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert found == [["p1"]] * 20
    assert store.engine.pool.checkedout() == 0, "every pool slot is free for writers"
    assert len(store._kept._opened) == 20
    for _ in range(20):  # and no kept connection is lent out again by the pool
        pooled = store.engine.raw_connection()
        assert all(pooled.dbapi_connection is not c for c in store._kept._opened)
        pooled.close()
    store.append([event("c1", "p2", 2)])
    store.close()
    assert store._kept._opened == []


def test_close_closes_every_threads_connection_and_a_later_read_opens_another(
    store: SqlEventStore,
) -> None:
    store.append([event("c1", "p1", 1)])
    other = threading.Thread(target=lambda: store.recent(["c1"], T0))
    other.start()
    other.join(10)
    store.recent(["c1"], T0)
    connections = list(store._kept._opened)
    assert len(connections) == 2
    store.close()
    for connection in connections:
        with pytest.raises(Exception, match="closed"):
            connection.execute("SELECT 1")
    assert store.recent(["c1"], T0).product_id == ["p1"]
    store.close()


def test_a_failed_kept_connection_is_replaced(store: SqlEventStore) -> None:
    store.append([event("c1", "p1", 1)])
    store.recent(["c1"], T0)
    [broken] = store._kept._opened
    broken.close()  # as if the connection had gone bad underneath
    with pytest.raises(StoreUnavailable, match="connection lost during read events"):
        store.recent(["c1"], T0)
    assert store.recent(["c1"], T0).product_id == ["p1"]
    assert store._kept._opened and store._kept._opened[0] is not broken
    store.close()


def test_an_in_memory_database_reads_through_the_pool() -> None:
    store = open_event_store("sqlite://")
    assert store._kept is None, "each connection to :memory: would be another database"
    store.close()
