"""GuardedReads: reads pass through, fail within the budget, and pause after a failure."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from recsys.stores.base import StoredEvent, StoreUnavailable
from recsys.stores.db import make_engine
from recsys.stores.sql_events import SqlEventStore, open_event_store
from serving.recommend.store_guard import GuardedReads, guard_reads

T0 = datetime(2024, 7, 1, tzinfo=UTC)
NOWHERE = "postgresql://postgres@127.0.0.1:9/test"  # the discard port: nothing listens


def test_a_sqlite_store_is_not_wrapped_a_networked_one_is(tmp_path: Path) -> None:
    local = open_event_store(f"sqlite:///{tmp_path / 'e.db'}")
    assert guard_reads(local) is local
    remote = SqlEventStore(make_engine(NOWHERE))  # no connection is made here
    assert isinstance(guard_reads(remote), GuardedReads)


def test_reads_and_writes_pass_through(tmp_path: Path) -> None:
    guarded = GuardedReads(open_event_store(f"sqlite:///{tmp_path / 'e.db'}"))
    event = StoredEvent("c1", "p1", "view", T0, "web")
    assert guarded.append([event]) == 1
    assert guarded.recent(["c1", "c2"], since=datetime(2024, 1, 1, tzinfo=UTC)).product_id == ["p1"]
    assert guarded.count() == 1 and guarded.export().height == 1


class CountingStore(SqlEventStore):
    """A real SqlEventStore that counts the reads it is asked for."""

    reads = 0

    def recent(self, customer_ids, since):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().recent(customer_ids, since)


def test_a_failed_read_pauses_reads_for_the_cooldown() -> None:
    nowhere = CountingStore(make_engine(NOWHERE, timeout_s=1))
    guarded = GuardedReads(nowhere, budget_s=5.0, cooldown_s=1.0)  # ample for three calls
    with pytest.raises(StoreUnavailable, match="cannot read events"):
        guarded.recent(["c1"], since=T0)  # the store's own error
    assert nowhere.reads == 1
    for _ in range(3):
        with pytest.raises(StoreUnavailable, match="reads paused"):
            guarded.recent(["c1"], since=T0)
    assert nowhere.reads == 1, "the store is not asked while reads are paused"
    time.sleep(1.05)
    with pytest.raises(StoreUnavailable, match="cannot read events"):
        guarded.recent(["c1"], since=T0)  # asked again after the cooldown
    assert nowhere.reads == 2
