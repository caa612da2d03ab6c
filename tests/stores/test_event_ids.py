"""Client event ids: one stored row per (source, event_id), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import SqlEventStore
from recsys.stores.tables import CLIENT_EVENT_ID, SOURCE
from recsys.stores.tables import events as events_table

T0 = datetime(2024, 7, 1, 9, tzinfo=UTC)


def ev(i: int, event_id: str | None, source: str = "k1", seconds: float = 0) -> StoredEvent:
    return StoredEvent(
        f"c{i}", "p1", "view", T0 + timedelta(seconds=seconds), event_id=event_id, source=source
    )


def ids_stored(store: SqlEventStore) -> list[tuple[str, str | None]]:
    query = sa.select(events_table.c[SOURCE], events_table.c[CLIENT_EVENT_ID])
    with store.engine.connect() as conn:
        return sorted((s, e or "") for s, e in conn.execute(query))


def test_a_retried_batch_is_counted_and_stored_once(store: SqlEventStore) -> None:
    batch = [ev(i, f"e{i}") for i in range(5)]
    assert store.append(batch) == 5
    # the retry carries "now" timestamps of its own: the id decides, not the content
    retry = [ev(i, f"e{i}", seconds=30) for i in range(5)]
    assert store.append(retry) == 5
    assert store.count() == 5
    assert store.export()["timestamp"].to_list() == [T0] * 5


def test_a_retry_that_overlaps_stores_only_the_new_events(store: SqlEventStore) -> None:
    store.append([ev(i, f"e{i}") for i in range(3)])
    assert store.append([ev(i, f"e{i}") for i in range(2, 6)]) == 4
    assert ids_stored(store) == [("k1", f"e{i}") for i in range(6)]


def test_ids_are_unique_per_source_not_across_sources(store: SqlEventStore) -> None:
    store.append([ev(1, "same", source="k1")])
    store.append([ev(1, "same", source="k2"), ev(1, "same", source="")])
    assert ids_stored(store) == [("", "same"), ("k1", "same"), ("k2", "same")]


def test_events_without_an_id_are_stored_every_time(store: SqlEventStore) -> None:
    """At least once: without an id nothing tells a retry from a second, equal event."""
    store.append([ev(1, None), ev(1, None)])
    store.append([ev(1, None)])
    assert store.count() == 3


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    batches=st.lists(
        st.lists(st.tuples(st.sampled_from(["k1", "k2"]), st.integers(0, 8)), max_size=6),
        max_size=6,
    )
)
def test_each_source_and_id_is_stored_exactly_once(
    sqlite_store: SqlEventStore, batches: list[list[tuple[str, int]]]
) -> None:
    before = set(ids_stored(sqlite_store))
    sent: set[tuple[str, str]] = set()
    for batch in batches:
        unique = list(dict.fromkeys(batch))  # RecordEvents refuses an id twice in one call
        events = [ev(n, f"x{n}", source=s) for s, n in unique]
        assert sqlite_store.append(events) == len(events)
        sent |= {(s, f"x{n}") for s, n in unique}
    stored = ids_stored(sqlite_store)
    assert len(stored) == len(set(stored))  # nothing twice
    assert set(stored) - before == sent - before
