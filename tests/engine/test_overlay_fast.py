"""The overlay's small (request) path equals its frame path on every event stream tried.

`apply_events` sends batches of up to SMALL_CUSTOMERS customers with up to SMALL_EVENTS rows
to a plain-Python path; the polars path is the reference. Both are run on the same random
states and events and must give the same holdings and the same float32 history, bit for bit,
with the same cells stored, the same warnings and the same errors.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recsys.engine.overlay as overlay
from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.recent_events import RecentEvents
from recsys.data.schema import UTC_DATETIME
from recsys.engine.overlay import SMALL_CUSTOMERS, apply_events, apply_recent
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import BatchState, batch_state
from recsys.stores.base import StoredEvent
from recsys.stores.sql_events import open_event_store
from tests.conftest import TINY_LAST_EVENT, tiny_bank_data

AS_OF = datetime(2024, 7, 10, 8, 30, 15, 123_456, tzinfo=UTC)  # microseconds on purpose
DEFAULT_WEIGHTS = {
    "purchase": 1.0,
    "close": 0.0,
    "apply": 0.5,
    "click": 0.1,
    "view": 0.05,
    "impression": 0.0,
}
KNOWN = ["c1", "c2", "c3", "c4", "c5"]  # the tiny snapshot's customers
STRANGERS = ["new", "other"]  # not in the snapshot
PRODUCTS = ["p1", "p2", "p3", "p4", "p5", "p6", "GONE"]  # GONE: not in the catalog
DAY_US = 86_400 * 1_000_000
# few distinct instants, so same-instant purchases and closes happen often; 0 is as_of itself
OFFSETS_US = [0, -1, 1, -1_000_000, -DAY_US, -30 * DAY_US, -400 * DAY_US, 5 * DAY_US]
WEIGHT_VALUES = [0.0, 0.05, 0.1, 0.5, 1.0, 2.0, -0.25, 1e-30]


@functools.cache
def snapshot() -> Snapshot:
    """The tiny bank at its last event (6 products, customers c1..c5)."""
    return Snapshot.build(
        tiny_bank_data(), weights=DEFAULT_WEIGHTS, half_life_days=30.0, as_of=TINY_LAST_EVENT
    )


def events_frame(rows: list[tuple[str, str, str, datetime]]) -> pl.DataFrame:
    """Events with the columns and dtypes the event store returns."""
    customers, products, kinds, stamps = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [])
    )
    return pl.DataFrame(
        {
            C.customer_id: pl.Series(customers, dtype=pl.String),
            C.product_id: pl.Series(products, dtype=pl.String),
            C.event: pl.Series(kinds, dtype=pl.String),
            C.timestamp: pl.Series(stamps, dtype=UTC_DATETIME),
            C.channel: pl.Series(["mobile"] * len(rows), dtype=pl.String),
            C.amount: pl.Series([None] * len(rows), dtype=pl.Float64),
            "request_id": pl.Series([None] * len(rows), dtype=pl.String),
            "offer_id": pl.Series([None] * len(rows), dtype=pl.String),
        }
    )


def random_rows(rng: np.random.Generator, b: int, n: int, values: Callable) -> sp.csr_matrix:
    """(b, n) CSR with about a third of the cells set to `values(size)`, canonical, and now and
    then an explicit zero (both paths drop it)."""
    dense = np.where(rng.random((b, n)) < 0.35, values(size=(b, n)), 0.0)
    out = sp.csr_matrix(dense.astype(np.float32))
    if out.nnz and rng.random() < 0.3:
        out.data[rng.integers(out.nnz)] = 0.0
    return out


@st.composite
def cases(draw: st.DrawFn) -> dict:
    """A batch state, an event stream and the overlay's settings."""
    ids = draw(st.lists(st.sampled_from(KNOWN + STRANGERS), min_size=1, max_size=SMALL_CUSTOMERS))
    snap = snapshot()
    state = batch_state(snap, ids)
    n = len(snap.product_map)
    if draw(st.booleans()):  # random holdings (repeatable quantities above 1) and history
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        state = replace(
            state,
            held=random_rows(rng, len(ids), n, lambda size: rng.integers(1, 4, size)),
            history=random_rows(rng, len(ids), n, lambda size: rng.normal(0.5, 1.0, size)),
        )
    event = st.tuples(
        st.sampled_from(ids + ["c9"]),  # c9: another customer's event, read by mistake
        st.sampled_from(PRODUCTS),
        st.sampled_from(Events.all),
        st.one_of(st.sampled_from(OFFSETS_US), st.integers(-500 * DAY_US, DAY_US)),
    )
    rows = [
        (c, p, e, AS_OF + timedelta(microseconds=us))
        for c, p, e, us in draw(st.lists(event, max_size=40))
    ]
    weights = {
        e: draw(st.one_of(st.sampled_from(WEIGHT_VALUES), st.floats(-3, 3))) for e in Events.all
    }
    if draw(st.integers(0, 9)) == 0:  # an event type without a weight: both paths refuse it
        del weights[draw(st.sampled_from(Events.all))]
    return {
        "state": state,
        "events": events_frame(rows),
        "repeatable": np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n))),
        "weights": weights,
        "half_life_days": draw(st.one_of(st.none(), st.floats(0.01, 1000), st.just(365.0))),
    }


@contextmanager
def warnings_logged() -> Iterator[list[str]]:
    """The overlay's warning messages while the block runs."""
    found: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            found.append(record.getMessage())

    handler = Keep(logging.WARNING)
    log = logging.getLogger(overlay.__name__)
    log.addHandler(handler)
    try:
        yield found
    finally:
        log.removeHandler(handler)


def run(path: Callable, case: dict) -> tuple[BatchState | str, list[str]]:
    """One path's state (or its ValueError's message) and the warnings it logged."""
    with warnings_logged() as logged:
        try:
            out = path(
                case["state"],
                case["events"],
                snapshot().product_map,
                case["repeatable"],
                case["weights"],
                case["half_life_days"],
                AS_OF,
            )
        except ValueError as exc:
            return f"ValueError: {exc}", logged
    return out, logged


def assert_same_matrix(got: sp.csr_matrix, expected: sp.csr_matrix, name: str) -> None:
    assert got.dtype == expected.dtype, name
    assert got.shape == expected.shape, name
    assert got.has_canonical_format and expected.has_canonical_format, name
    np.testing.assert_array_equal(got.indptr, expected.indptr, err_msg=name)
    np.testing.assert_array_equal(got.indices, expected.indices, err_msg=name)
    # bit for bit: the same float32 words
    assert got.data.tobytes() == expected.data.tobytes(), (name, got.data, expected.data)


def assert_same_state(got: BatchState, expected: BatchState, base: BatchState) -> None:
    assert (got is base) == (expected is base)
    assert (got.held is base.held) == (expected.held is base.held)
    assert_same_matrix(got.history, expected.history, "history")
    assert_same_matrix(got.held, expected.held, "held")
    assert got.customer_ids == expected.customer_ids
    assert got.rows is base.rows and got.features is base.features


def assert_same_outcome(
    got: BatchState | str, expected: BatchState | str, base: BatchState
) -> None:
    """The same error message, or the same state."""
    if isinstance(expected, str):
        assert got == expected
    else:
        assert not isinstance(got, str), got
        assert_same_state(got, expected, base)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_the_small_path_equals_the_frame_path(case: dict) -> None:
    assert overlay._small(case["state"], case["events"])
    held, history = case["state"].held.copy(), case["state"].history.copy()
    got, got_logged = run(overlay._apply_small, case)
    expected, expected_logged = run(overlay._apply_frames, case)
    assert got_logged == expected_logged
    assert_same_outcome(got, expected, case["state"])
    # neither path writes into the caller's state
    assert (case["state"].held != held).nnz == 0
    assert (case["state"].history != history).nnz == 0


def public(apply: Callable, case: dict, events: object) -> tuple[BatchState | str, list[str]]:
    """`apply` (apply_events or apply_recent) on the case, as `run` gives a path's outcome."""
    with warnings_logged() as logged:
        try:
            out = apply(
                case["state"],
                events,
                product_map=snapshot().product_map,
                repeatable=case["repeatable"],
                weights=case["weights"],
                half_life_days=case["half_life_days"],
                as_of=AS_OF,
            )
        except ValueError as exc:
            return f"ValueError: {exc}", logged
    return out, logged


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), batch=st.booleans())
def test_the_store_rows_give_the_state_the_frame_gives(case: dict, batch: bool) -> None:
    """apply_recent (the server's RecentEvents) == apply_events of the same rows as a frame,
    on the small path and, for a batch past SMALL_CUSTOMERS, on the frame path."""
    if batch:
        ids = case["state"].customer_ids * (SMALL_CUSTOMERS + 1)
        case = {**case, "state": batch_state(snapshot(), ids)}
    rows = RecentEvents.from_frame(case["events"])
    got, got_logged = public(apply_recent, case, rows)
    expected, expected_logged = public(apply_events, case, case["events"])
    assert got_logged == expected_logged
    assert_same_outcome(got, expected, case["state"])


def test_recent_events_check_their_columns() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        RecentEvents(["c1"], ["p1"], ["view"], [])
    at = [("c1", "p5", "purchase", AS_OF), ("c2", "p1", "view", AS_OF - timedelta(days=1))]
    rows = RecentEvents.from_frame(events_frame(at))
    assert len(rows) == 2 and rows.customer_id == ["c1", "c2"]
    assert rows.frame().equals(events_frame(at).select(rows.frame().columns))
    nanos = events_frame(at).with_columns(pl.col(C.timestamp).dt.cast_time_unit("ns"))
    with pytest.raises(ValueError, match=r"events\[timestamp\]"):
        RecentEvents.from_frame(nanos)


def test_a_store_read_takes_the_small_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's recent rows are applied on the small path: no frame is built."""
    store = open_event_store(f"sqlite:///{tmp_path / 'events.db'}")
    snap = snapshot()
    store.append(
        [
            StoredEvent("c2", "p5", "purchase", AS_OF - timedelta(hours=1), channel="mobile"),
            StoredEvent("c2", "p5", "view", AS_OF - timedelta(hours=2), channel="mobile"),
            StoredEvent("c2", "p1", "click", AS_OF - timedelta(days=3), channel="web"),
        ]
    )
    events = store.recent(["c2"], since=TINY_LAST_EVENT)
    state = batch_state(snap, ["c2"])
    assert overlay._small(state, store.for_customers(["c2"], since=TINY_LAST_EVENT))

    def refused(*args: object) -> None:
        raise AssertionError("the request path built frames")

    monkeypatch.setattr(overlay, "_apply_frames", refused)
    monkeypatch.setattr(RecentEvents, "frame", refused)
    out = apply_recent(
        state,
        events,
        product_map=snap.product_map,
        repeatable=snap.products[C.repeatable].to_numpy(),
        weights=DEFAULT_WEIGHTS,
        half_life_days=30.0,
        as_of=AS_OF,
    )
    p5, p1 = snap.product_map.to_internal(["p5", "p1"])
    assert out.held[0, p5] == 1.0
    assert out.history[0, p5] > 1.0 and 0 < out.history[0, p1] < 0.1
    store.close()


def test_large_batches_and_other_frames_take_the_frame_path() -> None:
    snap = snapshot()
    at = [("c1", "p5", "purchase", AS_OF)]
    assert overlay._small(batch_state(snap, ["c1"] * SMALL_CUSTOMERS), events_frame(at))
    assert not overlay._small(batch_state(snap, ["c1"] * (SMALL_CUSTOMERS + 1)), events_frame(at))
    nanos = events_frame(at).with_columns(pl.col(C.timestamp).dt.cast_time_unit("ns"))
    assert not overlay._small(batch_state(snap, ["c1"]), nanos)
    with_null = events_frame(at).with_columns(pl.lit(None, pl.String).alias(C.product_id))
    assert not overlay._small(batch_state(snap, ["c1"]), with_null)
