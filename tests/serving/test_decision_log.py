"""DecisionLog: submit never blocks, overflow is counted, a stalled store is waited out,
close flushes, old rows are purged. Real SQLite stores; a held lock stalls the writer."""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.engine.request import ShownReason
from recsys.stores.db import make_engine
from recsys.stores.sql_decisions import DecisionRow, DecisionStore, open_decision_store
from serving.decisions.log import YIELD_EVERY, DecisionLog, answer_json, render_row
from serving.recommend.domain import Item, Recommendation, Removed
from serving.transport.metrics import ServingMetrics

T0 = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
PRODUCTS = np.array(["CA01", "CC01", "MF05", "SA01"], dtype=object)


def recommendation(customer: str, request_id: str) -> Recommendation:
    items = (
        Item(
            "CC01",
            "Gold card",
            "credit_card",
            0.9,
            1,
            (ShownReason("hold:CA01", "you hold Current; others add this"),),
            "spring",
        ),
        Item("CA01", "Current account", "account", 0.4, 2, ()),
    )
    removed = Removed(
        PRODUCTS,
        {
            "held": np.array([True, True, True, False]),
            "suitability": np.array([True, True, False, True]),
            "age": np.array([True, True, True, True]),  # removed nothing: not in the log
        },
    )
    return Recommendation(customer, items, "7", request_id, removed)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'decisions.db'}"


@pytest.fixture
def reader(url: str) -> Iterator[DecisionStore]:
    store = open_decision_store(url)
    yield store
    store.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached in time"
        time.sleep(0.01)


def test_the_row_keeps_items_reasons_offers_and_only_rules_that_removed() -> None:
    row = render_row(recommendation("c1", "req-1"), "mobile", T0.timestamp())
    assert row[:5] == ("req-1", T0, "c1", "mobile", "7")
    assert json.loads(row[5]) == [
        {
            "rank": 1,
            "product_id": "CC01",
            "name": "Gold card",
            "score": 0.9,
            "reasons": [{"code": "hold:CA01", "text": "you hold Current; others add this"}],
            "offer_id": "spring",
        },
        {
            "rank": 2,
            "product_id": "CA01",
            "name": "Current account",
            "score": 0.4,
            "reasons": [],
            "offer_id": None,
        },
    ]
    assert json.loads(row[6]) == {"held": ["SA01"], "suitability": ["MF05"]}


def test_submitted_answers_are_written_and_counted(url: str, reader: DecisionStore) -> None:
    metrics = ServingMetrics()
    log = DecisionLog(open_decision_store(url), metrics=metrics).start()
    for i in range(30):
        assert log.submit(recommendation(f"c{i % 3}", f"r{i}"), "web", T0 + timedelta(seconds=i))
    wait_until(lambda: log.logged == 30)
    assert log.close(timeout=5)
    got = reader.for_customer("c0")
    assert [d.request_id for d in got] == [f"r{i}" for i in range(27, -1, -3)]
    assert got[0].removed == {"held": ["SA01"], "suitability": ["MF05"]}
    assert metrics.value("recsys_decisions_logged_total") == 30
    assert metrics.value("recsys_decisions_dropped_total") == 0


def test_full_queue_drops_and_counts_without_blocking(url: str, reader: DecisionStore) -> None:
    metrics = ServingMetrics()
    log = DecisionLog(open_decision_store(url), queue_size=5, metrics=metrics)  # not started
    start = time.perf_counter()
    accepted = [log.submit(recommendation("c1", f"r{i}"), "atm") for i in range(50)]
    elapsed = time.perf_counter() - start
    assert accepted == [True] * 5 + [False] * 45
    assert elapsed < 0.5, f"50 submits took {elapsed * 1000:.1f} ms: submit must not wait"
    assert log.dropped == 45 and metrics.value("recsys_decisions_dropped_total") == 45
    assert metrics.value("recsys_decision_queue_depth") == 5
    assert log.close(timeout=5)  # close starts the writer and flushes the five
    assert [d.request_id for d in reader.for_customer("c1")] == [f"r{i}" for i in range(4, -1, -1)]


def test_a_batch_that_overflows_keeps_its_first_answers(url: str, reader: DecisionStore) -> None:
    log = DecisionLog(open_decision_store(url), queue_size=3)  # not started: nothing drains
    batch = [recommendation(f"c{i}", "batch-1") for i in range(5)]
    assert log.submit_many(batch, "web") == 3
    assert log.dropped == 2
    assert log.close(timeout=5)
    rows = [reader.for_customer(f"c{i}") for i in range(5)]
    assert [len(r) for r in rows] == [1, 1, 1, 0, 0]
    assert rows[0][0].at == rows[2][0].at  # one time for the whole call


def test_stalled_store_is_retried_while_the_queue_absorbs(
    url: str, reader: DecisionStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = url.removeprefix("sqlite:///")
    lock = sqlite3.connect(path)
    lock.execute("BEGIN EXCLUSIVE")  # another writer holds the database: every append fails
    store = DecisionStore(make_engine(url, timeout_s=0.05))
    log = DecisionLog(store, queue_size=10, flush_s=0.01, retry_max_s=0.1).start()
    try:
        assert log.submit(recommendation("c1", "first"), "mobile")
        # the writer took it and is failing to write it: from now on nothing leaves the queue
        wait_until(lambda: log.depth == 0 and "store unavailable, retrying" in caplog.text)
        start = time.perf_counter()
        accepted = sum(log.submit(recommendation("c1", f"r{i}"), "mobile") for i in range(25))
        assert time.perf_counter() - start < 0.5
        assert (accepted, log.dropped, log.logged) == (10, 15, 0)
    finally:
        lock.rollback()  # the store comes back
        lock.close()
    assert log.close(timeout=10)
    assert log.logged == 11 and log.dropped == 15
    assert reader.count() == 11


def test_close_gives_up_on_a_dead_store_by_its_deadline(url: str) -> None:
    store = DecisionStore(make_engine("postgresql://postgres@127.0.0.1:1/none", timeout_s=1))
    log = DecisionLog(store, flush_s=0.01, retry_max_s=0.2).start()
    for i in range(3):
        log.submit(recommendation("c1", f"r{i}"), "web")
    start = time.monotonic()
    assert not log.close(timeout=1.5)
    assert time.monotonic() - start < 4
    assert log.dropped == 3 and log.logged == 0


def test_an_answer_the_store_cannot_keep_is_dropped_at_submit(
    url: str, reader: DecisionStore, caplog: pytest.LogCaptureFixture
) -> None:
    log = DecisionLog(open_decision_store(url)).start()
    assert log.submit(recommendation("c1", "ok-1"), "web")
    for i in range(50):  # too long for a request id
        assert not log.submit(recommendation("c1", f"{i:03d}" + "x" * 200), "web")
    assert log.dropped == 50  # counted at once, and the calls that gave them did not fail
    assert log.submit(recommendation("c1", "ok-2"), "web")
    assert log.close(timeout=5)
    assert (log.logged, log.dropped) == (2, 50)
    assert {d.request_id for d in reader.for_customer("c1")} == {"ok-1", "ok-2"}
    # one traceback, not fifty: the serving loop does not format one per answer
    failures = [r for r in caplog.records if "cannot store" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info is not None


class RefusingStore(DecisionStore):
    """A real (SQLite) DecisionStore whose database refuses rows of request ids `bad-*`."""

    def __init__(self, url: str) -> None:
        super().__init__(open_decision_store(url).engine)

    def append_rows(self, rows: Sequence[DecisionRow]) -> int:
        if any(r[0].startswith("bad-") for r in rows):
            raise ValueError("refused by the database")
        return super().append_rows(rows)


def test_a_row_the_database_refuses_costs_only_that_row(url: str, reader: DecisionStore) -> None:
    log = DecisionLog(RefusingStore(url), flush_s=0.5).start()
    for request_id in ("ok-1", "bad-1", "ok-2"):
        assert log.submit(recommendation("c1", request_id), "web")
    log.submit_many([recommendation("c2", "ok-3"), recommendation("c2", "bad-2")], "web")
    wait_until(lambda: log.logged + log.dropped == 5)
    assert log.close(timeout=5)
    assert (log.logged, log.dropped) == (3, 2)
    assert {d.request_id for d in reader.for_customer("c1")} == {"ok-1", "ok-2"}
    assert [d.request_id for d in reader.for_customer("c2")] == ["ok-3"]


def test_a_kept_answers_json_is_stored_as_it_is(url: str, reader: DecisionStore) -> None:
    """submit_json (a kept answer's JSON, rendered when it was kept) is not rendered again."""
    log = DecisionLog(open_decision_store(url)).start()
    answer = recommendation("c1", "req-kept")
    assert log.submit_json(answer, "web", '[{"rank":1}]', '{"held":["SA01"]}', T0)
    assert not log.submit_json(replace(answer, request_id="x" * 200), "web", "[]", "{}")
    assert log.close(timeout=5)
    [got] = reader.for_customer("c1")
    assert (got.request_id, got.at, got.items, got.removed) == (
        "req-kept",
        T0,
        [{"rank": 1}],
        {"held": ["SA01"]},
    )
    assert (log.logged, log.dropped) == (1, 1)


def test_retention_purges_at_start_and_then_periodically(url: str, reader: DecisionStore) -> None:
    now = datetime.now(UTC)
    old = render_row(recommendation("c1", "old"), "web", now - timedelta(days=31))
    recent = render_row(recommendation("c1", "recent"), "web", now - timedelta(days=29))
    reader.append_rows([old, recent])
    log = DecisionLog(open_decision_store(url), retention_days=30, purge_every_s=0.05).start()
    wait_until(lambda: reader.count() == 1)
    assert [d.request_id for d in reader.for_customer("c1")] == ["recent"]
    reader.append_rows([render_row(recommendation("c1", "later"), "web", now - timedelta(days=40))])
    wait_until(lambda: reader.count() == 1)  # the next purge, not only the one at start
    assert log.close(timeout=5)


def test_zero_retention_keeps_everything(url: str, reader: DecisionStore) -> None:
    ancient = render_row(recommendation("c1", "ancient"), "web", T0 - timedelta(days=3650))
    reader.append_rows([ancient])
    log = DecisionLog(open_decision_store(url), retention_days=0, purge_every_s=0.01).start()
    log.submit(recommendation("c1", "new"), "web")
    assert log.close(timeout=5)
    assert reader.count() == 2


def test_bad_sizes_are_refused(url: str) -> None:
    store = open_decision_store(url)
    with pytest.raises(ValueError, match="queue_size"):
        DecisionLog(store, queue_size=0)
    with pytest.raises(ValueError, match="retention_days"):
        DecisionLog(store, retention_days=-1)
    store.close()


def test_removals_are_the_ids_of_each_answers_catalog() -> None:
    """Equal mask rows under two catalogs (a model swap) give each catalog's own ids."""
    row = np.array([True, False, True, False])
    old = Removed(np.array(["a", "b", "c", "d"], dtype=object), {"held": row})
    new = Removed(np.array(["w", "x", "y", "z"], dtype=object), {"held": row})
    assert json.loads(answer_json((), old)[1]) == {"held": ["b", "d"]}
    assert json.loads(answer_json((), new)[1]) == {"held": ["x", "z"]}
    assert answer_json((), None) == ("[]", "{}")


class CountingStore(DecisionStore):
    """A real (SQLite) DecisionStore that also keeps the size of every append: the batches."""

    def __init__(self, url: str) -> None:
        super().__init__(open_decision_store(url).engine)
        self.batches: list[int] = []

    def append_rows(self, rows: Sequence[DecisionRow]) -> int:
        self.batches.append(len(rows))
        return super().append_rows(rows)


def test_answers_arriving_while_the_writer_gathers_share_one_batch(url: str) -> None:
    store = CountingStore(url)
    log = DecisionLog(store, flush_s=0.5).start()
    log.submit(recommendation("c1", "r0"), "web")
    time.sleep(0.05)  # the writer has the first answer and waits for more
    for i in range(1, 10):
        log.submit(recommendation("c1", f"r{i}"), "web")
    wait_until(lambda: log.logged == 10)
    assert store.batches == [10]
    assert log.close(timeout=5)


def test_a_backlog_goes_in_full_batches_without_waiting_for_the_flush(url: str) -> None:
    store = CountingStore(url)
    log = DecisionLog(store, batch_size=10, flush_s=30.0)  # not started: a backlog builds
    for i in range(20):
        log.submit(recommendation("c1", f"r{i}"), "web")
    start = time.monotonic()
    log.start()
    wait_until(lambda: log.logged == 20, timeout=5.0)
    assert time.monotonic() - start < 5.0 and store.batches == [10, 10]
    assert log.close(timeout=5)


def test_close_cuts_the_gathering_wait_short_and_writes_what_it_holds(url: str) -> None:
    store = CountingStore(url)
    log = DecisionLog(store, flush_s=30.0).start()
    for i in range(3):
        log.submit(recommendation("c1", f"r{i}"), "web")
    time.sleep(0.1)  # the writer holds r0 and waits for the batch to fill
    start = time.monotonic()
    assert log.close(timeout=5)
    assert time.monotonic() - start < 2.0
    assert store.batches == [3] and log.logged == 3


@given(
    items=st.lists(
        st.builds(
            Item,
            product_id=st.text(min_size=1, max_size=8),
            name=st.text(max_size=12),
            category=st.just("account"),
            score=st.one_of(
                st.floats(allow_nan=True, allow_infinity=True, width=32).map(float),
                st.integers(-3, 3),
            ),
            rank=st.integers(1, 50),
            reasons=st.lists(
                st.builds(ShownReason, st.sampled_from(["hold:CA01", "offer:o1"]), st.text()),
                max_size=3,
            ).map(tuple),
            offer_id=st.one_of(st.just(""), st.text(min_size=1, max_size=6)),
        ),
        max_size=6,
    )
)
def test_the_items_json_reads_back_as_the_items(items: list[Item]) -> None:
    """Any names, reasons and scores (NaN and infinities too) read back as they were, in
    ASCII (NUL and odd characters escaped: PostgreSQL-safe text)."""
    text, _ = answer_json(items, None)
    assert text.isascii()
    back = json.loads(text)
    assert [(i["product_id"], i["name"], i["rank"]) for i in back] == [
        (i.product_id, i.name, i.rank) for i in items
    ]
    assert [i["offer_id"] for i in back] == [i.offer_id or None for i in items]
    assert [[(r["code"], r["text"]) for r in i["reasons"]] for i in back] == [
        [tuple(r) for r in i.reasons] for i in items
    ]
    for got, item in zip(back, items, strict=True):
        assert got["score"] == item.score or (math.isnan(got["score"]) and math.isnan(item.score))


def test_the_row_is_at_the_same_utc_moment_whatever_at_is_given_as() -> None:
    answer = recommendation("c1", "req-1")
    rows = [
        render_row(answer, "mobile", at)
        for at in (T0.timestamp(), T0, T0.astimezone(timezone(timedelta(hours=9))))
    ]
    assert [r[1] for r in rows] == [T0] * 3
    assert {r[1].utcoffset() for r in rows} == {timedelta(0)}
    assert len(set(rows)) == 1


def test_a_batch_larger_than_a_slice_is_written_whole(url: str, reader: DecisionStore) -> None:
    """The writer stores a batch a slice at a time (handing the GIL over between slices):
    every answer arrives once, in order."""
    n = 3 * YIELD_EVERY + 5
    log = DecisionLog(open_decision_store(url), batch_size=n, flush_s=0.5).start()
    for i in range(n):
        assert log.submit(recommendation("c1", f"r{i:03d}"), "web", T0 + timedelta(seconds=i))
    wait_until(lambda: log.logged == n)
    assert log.close(timeout=5)
    got = reader.for_customer("c1")
    assert [d.request_id for d in got] == [f"r{i:03d}" for i in reversed(range(n))]


def test_a_valued_item_logs_its_probability_value_and_lever() -> None:
    valued = Item("TD01", "Deposit", "term_deposit", 1.8, 1, (), "", 0.12, 12.5, 1.2)
    plain = Item("CA01", "Current account", "account", 0.4, 2, ())
    shown = json.loads(answer_json((valued, plain), None)[0])
    assert (shown[0]["probability"], shown[0]["value"], shown[0]["lever"]) == (0.12, 12.5, 1.2)
    assert "probability" not in shown[1]  # a model without calibration logs none


def test_a_valued_item_carries_its_probability_on_the_wire() -> None:
    from serving._proto.recsys.v1 import recommendation_pb2 as pb
    from serving.recommend.servicer import items_wire

    valued = Item("TD01", "Deposit", "term_deposit", 1.8, 1, (), "", 0.12, 12.5, 1.2)
    plain = Item("CA01", "Current account", "account", 0.4, 2, ())
    got = pb.RecommendResponse.FromString(items_wire((valued, plain))).items
    assert got[0].HasField("probability") and got[0].value == 12.5 and got[0].lever == 1.2
    assert not got[1].HasField("probability")
