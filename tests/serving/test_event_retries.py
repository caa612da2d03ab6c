"""Retries after a deadline store each event once (issue 22, part 2), on SQLite and PostgreSQL.

The store's write lock is held by the test, so the server's append waits on it and the client's
deadline passes first: the call the client gave up on still stores its events when the lock
goes, as in production when a commit is slow. The retry, with the same event ids, must then be
acknowledged without storing anything again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
import pytest
import sqlalchemy as sa

from recsys.stores.sql_events import open_event_store
from serving._proto.recsys.v1 import recommendation_pb2 as pb
from tests.serving.conftest import Running, _serve
from tests.serving.trained import Trained
from tests.stores.conftest import pg_url, sqlite_url  # noqa: F401 - fixtures

N_EVENTS = 200


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, model: Trained) -> Iterator[Running]:
    """A server on a store of its own (a fresh SQLite file or PostgreSQL schema)."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    settings = model.settings.model_copy(update={"database_url": url})
    store = open_event_store(url)
    try:
        yield from _serve(settings, model, store)
    finally:
        store.close()


@contextmanager
def write_locked(url: str) -> Iterator[None]:
    """Hold the events table's write lock (appends wait for it) until the block ends."""
    engine = sa.create_engine(url)
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
            conn.exec_driver_sql("LOCK TABLE events IN EXCLUSIVE MODE")
        yield
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()


def batch(model: Trained, tag: str, with_ids: bool = True) -> pb.RecordEventsRequest:
    product = str(model.loaded.engine.snapshot.product_map.ids[0])
    return pb.RecordEventsRequest(
        events=[
            pb.Event(
                customer_id=f"RETRY-{tag}-{i % 7}",
                product_id=product,
                type="view",
                channel="web",
                event_id=f"{tag}-{i}" if with_ids else "",
            )
            for i in range(N_EVENTS)
        ]
    )


def wait_for_count(running: Running, n: int) -> int:
    """The store's count once it reaches `n` (the abandoned call commits in the background)."""
    for _ in range(200):
        count = running.store.count()
        if count >= n:
            return count
        time.sleep(0.05)
    return running.store.count()


def test_a_retry_after_a_deadline_stores_each_event_once(served: Running, model: Trained) -> None:
    request = batch(model, "a")
    with write_locked(served.database_url):
        with pytest.raises(grpc.RpcError) as info:
            served.stub.RecordEvents(request, timeout=0.3)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # the call the client abandoned was not: it stores its events once the lock is gone
    assert wait_for_count(served, N_EVENTS) == N_EVENTS
    for _ in range(2):  # the client's retries, one more than it needed
        assert served.stub.RecordEvents(request, timeout=10).accepted == N_EVENTS
    assert served.store.count() == N_EVENTS
    stored = served.store.export()
    assert stored.height == N_EVENTS


def test_a_retry_racing_the_abandoned_call_stores_each_event_once(
    served: Running, model: Trained
) -> None:
    """The retry arrives while the first call still waits: one of the two stores, both ack."""
    request = batch(model, "b")
    with write_locked(served.database_url):
        with pytest.raises(grpc.RpcError):
            served.stub.RecordEvents(request, timeout=0.3)
        retry = served.stub.RecordEvents.future(request, timeout=30)
        time.sleep(0.2)  # lets the retry reach the lock as well (either order must hold)
    assert retry.result().accepted == N_EVENTS
    assert wait_for_count(served, N_EVENTS) == N_EVENTS
    assert served.store.count() == N_EVENTS


def test_events_without_ids_are_stored_at_least_once(served: Running, model: Trained) -> None:
    """The documented semantics without ids: the retry stores the batch a second time."""
    request = batch(model, "c", with_ids=False)
    with write_locked(served.database_url):
        with pytest.raises(grpc.RpcError):
            served.stub.RecordEvents(request, timeout=0.3)
    assert wait_for_count(served, N_EVENTS) == N_EVENTS
    assert served.stub.RecordEvents(request, timeout=10).accepted == N_EVENTS
    assert served.store.count() == 2 * N_EVENTS


def test_an_event_id_twice_in_one_call_is_invalid(served: Running, model: Trained) -> None:
    request = batch(model, "d")
    request.events[5].event_id = request.events[2].event_id
    with pytest.raises(grpc.RpcError) as info:
        served.stub.RecordEvents(request, timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith("events[5].event_id: 'd-2' is events[2]'s"), (
        info.value.details()
    )
    assert served.store.count() == 0
