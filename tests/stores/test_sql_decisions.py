"""DecisionStore on both backends: appends, per-customer reads newest first, purge, errors."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.stores.base import StoreUnavailable
from recsys.stores.db import make_engine
from recsys.stores.sql_decisions import (
    ROWS_PER_INSERT,
    Decision,
    DecisionRow,
    DecisionStore,
    decision_row,
    open_decision_store,
)

T0 = datetime(2024, 7, 1, 9, 30, 15, 123456, tzinfo=UTC)


def decision(customer: str, at: datetime, request_id: str = "", **kw: object) -> Decision:
    items = [
        {
            "rank": 1,
            "product_id": "CC01",
            "name": "Gold card",
            "score": 0.75,
            "reasons": [{"code": "hold:X", "text": "you hold X; others add this"}],
            "offer_id": "spring",
        },
        {
            "rank": 2,
            "product_id": "TD12",
            "name": "Deposit",
            "score": 0.5,
            "reasons": [],
            "offer_id": None,
        },
    ]
    fields: dict[str, object] = {
        "request_id": request_id or f"req-{uuid.uuid4().hex[:8]}",
        "at": at,
        "customer_id": customer,
        "channel": "mobile",
        "model_version": "7",
        "items": items,
        "removed": {"held": ["SA01"], "suitability": ["MF05", "MF09"]},
    }
    fields.update(kw)
    return Decision(**fields)  # type: ignore[arg-type]


def rows(decisions: list[Decision]) -> list[DecisionRow]:
    """The store's rows of `decisions`, their JSON as json.dumps writes it (the log's)."""
    return [
        decision_row(
            d.request_id,
            d.at,
            d.customer_id,
            d.channel,
            d.model_version,
            json.dumps(d.items),
            json.dumps(d.removed),
            i,
            known=d.known,
        )
        for i, d in enumerate(decisions)
    ]


@pytest.fixture
def decisions(store_url: str) -> Iterator[DecisionStore]:
    opened = open_decision_store(store_url)
    yield opened
    opened.close()


def test_round_trip_keeps_every_field_newest_first(decisions: DecisionStore) -> None:
    old = decision("c1", T0, "req-old")
    new = decision("c1", T0 + timedelta(hours=2), "req-new", channel="atm", removed={})
    other = decision("c2", T0 + timedelta(hours=1), "req-other", known=False)
    assert decisions.append_rows(rows([old, other, new])) == 3

    assert decisions.for_customer("c1") == [new, old]
    assert decisions.for_customer("c2") == [other] and not other.known
    assert decisions.for_customer("nobody") == []
    assert decisions.count() == 3


def test_times_come_back_in_utc_whatever_zone_went_in(decisions: DecisionStore) -> None:
    tokyo = timezone(timedelta(hours=9))
    decisions.append_rows(rows([decision("c1", T0.astimezone(tokyo))]))
    [got] = decisions.for_customer("c1")
    assert got.at == T0 and got.at.utcoffset() == timedelta(0)


def test_same_time_ties_read_newest_insert_first(decisions: DecisionStore) -> None:
    decisions.append_rows(rows([decision("c1", T0, "a"), decision("c1", T0, "b")]))
    decisions.append_rows(rows([decision("c1", T0, "c")]))
    assert [d.request_id for d in decisions.for_customer("c1")] == ["c", "b", "a"]


def test_since_is_inclusive_and_limit_keeps_the_newest(decisions: DecisionStore) -> None:
    sent = [decision("c1", T0 + timedelta(days=i), f"d{i}") for i in range(5)]
    decisions.append_rows(rows(sent))
    since = decisions.for_customer("c1", since=T0 + timedelta(days=2))
    assert [d.request_id for d in since] == ["d4", "d3", "d2"]
    newest = decisions.for_customer("c1", limit=2)
    assert [d.request_id for d in newest] == ["d4", "d3"]
    with pytest.raises(ValueError, match="limit"):
        decisions.for_customer("c1", limit=0)


def test_a_batch_of_several_insert_statements_goes_in_whole_and_in_order(
    decisions: DecisionStore,
) -> None:
    n = 2 * ROWS_PER_INSERT + 7  # three multi-row INSERTs of different sizes
    sent = [decision("c1", T0 + timedelta(seconds=i), f"d{i:03d}") for i in range(n)]
    assert decisions.append_rows(rows(sent)) == n
    assert decisions.for_customer("c1") == sent[::-1]


def test_purge_deletes_only_older_rows_and_counts_them(decisions: DecisionStore) -> None:
    sent = [decision(f"c{i}", T0 + timedelta(days=i), f"d{i}") for i in range(6)]
    decisions.append_rows(rows(sent))
    assert decisions.purge(T0 + timedelta(days=4)) == 4
    assert decisions.purge(T0 + timedelta(days=4)) == 0
    assert decisions.count() == 2
    assert decisions.for_customer("c3") == []
    assert [d.request_id for d in decisions.for_customer("c4")] == ["d4"]


def test_a_bad_row_is_named_and_nothing_of_its_batch_is_stored(
    decisions: DecisionStore,
) -> None:
    naive = decision("c1", datetime(2024, 7, 1))
    with pytest.raises(ValueError, match=r"decisions\[1\]\.at: must be a timezone-aware"):
        decisions.append_rows(rows([decision("c1", T0), naive]))
    with pytest.raises(ValueError, match=r"decisions\[0\]\.request_id: .* at most 128"):
        decisions.append_rows(rows([decision("c1", T0, "r" * 129)]))
    with pytest.raises(ValueError, match=r"decisions\[0\]\.customer_id: must not contain NUL"):
        decisions.append_rows(rows([decision("c\x001", T0)]))
    assert decisions.count() == 0


def test_naive_since_and_purge_dates_are_refused(decisions: DecisionStore) -> None:
    with pytest.raises(ValueError, match="since: must be a timezone-aware"):
        decisions.for_customer("c1", since=datetime(2024, 7, 1))
    with pytest.raises(ValueError, match="older_than: must be a timezone-aware"):
        decisions.purge(datetime(2024, 7, 1))


def test_locked_sqlite_store_is_unavailable_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    open_decision_store(f"sqlite:///{path}").close()
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing and not letting go
    try:
        store = DecisionStore(make_engine(f"sqlite:///{path}", timeout_s=0.1))
        with pytest.raises(StoreUnavailable, match="decision store: cannot append decisions"):
            store.append_rows(rows([decision("c1", T0)]))
        store.close()
    finally:
        holder.rollback()
        holder.close()


def test_unreachable_postgresql_is_unavailable() -> None:
    store = DecisionStore(make_engine("postgresql://postgres@127.0.0.1:1/none", timeout_s=1))
    with pytest.raises(StoreUnavailable, match="decision store: cannot read decisions"):
        store.for_customer("c1")
    with pytest.raises(StoreUnavailable, match="decision store: cannot purge decisions"):
        store.purge(T0)


@pytest.fixture(scope="module")
def sqlite_decisions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DecisionStore]:
    opened = open_decision_store(f"sqlite:///{tmp_path_factory.mktemp('prop') / 'd.db'}")
    yield opened
    opened.close()


@settings(max_examples=40, deadline=None)
@given(
    text=st.text(max_size=200),
    score=st.floats(allow_nan=False, allow_infinity=False),
    removed=st.dictionaries(st.text(min_size=1, max_size=20), st.lists(st.text(max_size=20))),
)
def test_any_reason_text_score_and_removal_round_trip(
    sqlite_decisions: DecisionStore, text: str, score: float, removed: dict[str, list[str]]
) -> None:
    customer = uuid.uuid4().hex
    item = {
        "rank": 1,
        "product_id": "P1",
        "name": text,
        "score": score,
        "reasons": [{"code": "c", "text": text}],
        "offer_id": None,
    }
    sent = decision(customer, T0, items=[item], removed=removed)
    sqlite_decisions.append_rows(rows([sent]))
    assert sqlite_decisions.for_customer(customer) == [sent]
