"""apply_events: snapshot states brought up to date with the events recorded since."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.recent_events import RecentEvents
from recsys.data.schema import EVENTS
from recsys.engine.engine import at_noon
from recsys.engine.overlay import apply_events
from recsys.engine.request import NewEvents, Request
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import BatchState, batch_state
from tests.conftest import TINY_LAST_EVENT, tiny_bank_data

WEIGHTS = {"purchase": 1.0, "close": 0.0, "apply": 0.5, "click": 0.1, "view": 0.05,
           "impression": 0.0}
HALF_LIFE = 30.0
NOW = TINY_LAST_EVENT + timedelta(days=10)


@pytest.fixture(scope="module")
def tiny_snapshot() -> Snapshot:
    """Tiny bank at its last event: c1 holds p1 and one p4 (repeatable), c3 holds p3."""
    return Snapshot.build(tiny_bank_data(), weights=WEIGHTS, half_life_days=HALF_LIFE,
                          as_of=TINY_LAST_EVENT)


def frame(*rows: tuple[str, str, str, datetime]) -> RecentEvents:
    """Canonical events (channel, amount null)."""
    data = {C.customer_id: [], C.product_id: [], C.event: [], C.timestamp: []}
    for customer, product, kind, at in rows:
        for name, value in zip(data, (customer, product, kind, at), strict=True):
            data[name].append(value)
    schema = {c.name: c.dtype for c in EVENTS.columns}
    typed = pl.DataFrame(data, schema={k: schema[k] for k in data})
    return RecentEvents.from_frame(typed)


def overlay(snap: Snapshot, ids: list[str], events: RecentEvents, *, as_of=NOW,  # noqa: ANN001
            half_life: float | None = HALF_LIFE) -> BatchState:
    repeatable = snap.products[C.repeatable].to_numpy()
    return apply_events(batch_state(snap, ids), events, product_map=snap.product_map,
                        repeatable=repeatable, weights=WEIGHTS, half_life_days=half_life,
                        as_of=as_of)


def held(snap: Snapshot, state: BatchState, row: int) -> dict[str, float]:
    r = state.held[row]
    cols = np.flatnonzero(r)
    return dict(zip(snap.product_map.ids[cols].tolist(), r[cols].tolist(), strict=True))


def at(days: float) -> datetime:
    return TINY_LAST_EVENT + timedelta(days=days)


def test_the_tiny_snapshot_is_what_the_cases_assume(tiny_snapshot: Snapshot) -> None:
    state = batch_state(tiny_snapshot, ["c1", "c2", "c3", "c4"])
    assert [held(tiny_snapshot, state, i) for i in range(4)] == [
        {"p1": 1.0, "p4": 1.0}, {}, {"p3": 1.0}, {}
    ]


def test_purchase_of_a_non_repeatable_product_is_held_once(tiny_snapshot: Snapshot) -> None:
    events = frame(("c4", "p5", "purchase", at(1)), ("c4", "p5", "purchase", at(2)),
                   ("c3", "p3", "purchase", at(1)))  # already held: still 1
    state = overlay(tiny_snapshot, ["c4", "c3"], events)
    assert held(tiny_snapshot, state, 0) == {"p5": 1.0}
    assert held(tiny_snapshot, state, 1) == {"p3": 1.0}


def test_close_removes_the_holding(tiny_snapshot: Snapshot) -> None:
    state = overlay(tiny_snapshot, ["c1"], frame(("c1", "p1", "close", at(1))))
    assert held(tiny_snapshot, state, 0) == {"p4": 1.0}


def test_repeatable_purchases_add_up(tiny_snapshot: Snapshot) -> None:
    events = frame(("c4", "p4", "purchase", at(1)), ("c4", "p4", "purchase", at(2)),
                   ("c1", "p4", "purchase", at(1)), ("c1", "p4", "purchase", at(3)),
                   ("c1", "p4", "close", at(4)))
    state = overlay(tiny_snapshot, ["c4", "c1"], events)
    assert held(tiny_snapshot, state, 0) == {"p4": 2.0}
    assert held(tiny_snapshot, state, 1) == {"p1": 1.0, "p4": 2.0}  # 1 + 2 - 1


def test_closes_follow_the_replay_rules(tiny_snapshot: Snapshot) -> None:
    events = frame(
        # close of what c4 does not hold is ignored; the later purchase holds it
        ("c4", "p3", "close", at(1)), ("c4", "p3", "purchase", at(2)),
        # closing a repeatable product twice from 1 floors at 0; then one purchase -> 1
        ("c1", "p4", "close", at(1)), ("c1", "p4", "close", at(2)),
        ("c1", "p4", "purchase", at(3)),
        # a purchase and a close at the same instant net out: p1 stays held
        ("c1", "p1", "purchase", at(5)), ("c1", "p1", "close", at(5)),
    )
    state = overlay(tiny_snapshot, ["c4", "c1"], events)
    assert held(tiny_snapshot, state, 0) == {"p3": 1.0}
    assert held(tiny_snapshot, state, 1) == {"p1": 1.0, "p4": 1.0}


def test_history_adds_decayed_event_weights(tiny_snapshot: Snapshot) -> None:
    events = frame(("c4", "p1", "purchase", NOW), ("c4", "p1", "view", NOW),
                   ("c4", "p3", "apply", NOW - timedelta(days=HALF_LIFE)),
                   ("c4", "p5", "impression", NOW))  # weight 0: no cell
    before = batch_state(tiny_snapshot, ["c4"]).history[0]
    state = overlay(tiny_snapshot, ["c4"], events)
    after = state.history[0]
    cols = tiny_snapshot.product_map.to_internal(["p1", "p3", "p5"])
    np.testing.assert_allclose(after[cols] - before[cols], [1.05, 0.25, 0.0], rtol=1e-6)
    rest = np.setdiff1d(np.arange(len(after)), cols)
    np.testing.assert_array_equal(after[rest], before[rest])
    assert state.history.dtype == np.float32


def test_customers_without_events_keep_their_snapshot_rows(tiny_snapshot: Snapshot) -> None:
    base = batch_state(tiny_snapshot, ["c1", "c2"])
    state = overlay(tiny_snapshot, ["c1", "c2"], frame(("c2", "p5", "purchase", at(1))))
    np.testing.assert_array_equal(state.history[0], base.history[0])
    np.testing.assert_array_equal(state.held[0], base.held[0])
    assert held(tiny_snapshot, state, 1) == {"p5": 1.0}


def test_unknown_customers_and_repeated_customers_get_their_events(
    tiny_snapshot: Snapshot,
) -> None:
    events = frame(("new", "p1", "purchase", at(1)), ("c9", "p2", "purchase", at(1)))
    state = overlay(tiny_snapshot, ["new", "c2", "new"], events)
    assert state.rows.tolist() == [-1, 1, -1]
    assert held(tiny_snapshot, state, 0) == held(tiny_snapshot, state, 2) == {"p1": 1.0}
    assert held(tiny_snapshot, state, 1) == {}  # c9 is not in the batch
    assert np.count_nonzero(state.history[0]) == np.count_nonzero(state.history[2]) == 1


def test_events_after_as_of_are_ignored(tiny_snapshot: Snapshot) -> None:
    events = frame(("c4", "p5", "purchase", NOW + timedelta(seconds=1)))
    state = overlay(tiny_snapshot, ["c4"], events)
    base = batch_state(tiny_snapshot, ["c4"])
    assert not state.held[0].any()
    np.testing.assert_array_equal(state.history, base.history)


def test_unknown_products_are_ignored_with_a_warning(
    tiny_snapshot: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    events = frame(("c4", "GONE", "purchase", at(1)), ("c4", "p5", "purchase", at(1)))
    with caplog.at_level(logging.WARNING, logger="recsys.engine.overlay"):
        state = overlay(tiny_snapshot, ["c4"], events)
    assert held(tiny_snapshot, state, 0) == {"p5": 1.0}
    assert "ignored 1 event(s) of products not in the catalog: ['GONE']" in caplog.text


def test_the_input_state_is_not_changed(tiny_snapshot: Snapshot) -> None:
    base = batch_state(tiny_snapshot, ["c1"])
    held_before, history_before = base.held.copy(), base.history.copy()
    out = apply_events(base, frame(("c1", "p1", "close", at(1))),
                       product_map=tiny_snapshot.product_map,
                       repeatable=tiny_snapshot.products[C.repeatable].to_numpy(),
                       weights=WEIGHTS, half_life_days=HALF_LIFE, as_of=NOW)
    assert out is not base
    np.testing.assert_array_equal(base.held, held_before)
    np.testing.assert_array_equal(base.history, history_before)


def test_no_events_returns_the_same_state(tiny_snapshot: Snapshot) -> None:
    base = batch_state(tiny_snapshot, ["c1"])
    empty = frame()
    out = apply_events(base, empty, product_map=tiny_snapshot.product_map,
                       repeatable=tiny_snapshot.products[C.repeatable].to_numpy(),
                       weights=WEIGHTS, half_life_days=HALF_LIFE, as_of=NOW)
    assert out is base


def test_bad_arguments_are_refused(tiny_snapshot: Snapshot) -> None:
    base = batch_state(tiny_snapshot, ["c1"])
    kw = dict(product_map=tiny_snapshot.product_map, weights=WEIGHTS, half_life_days=HALF_LIFE)
    with pytest.raises(ValueError, match="catalog sizes differ"):
        apply_events(base, frame(), repeatable=np.zeros(2, bool), as_of=NOW, **kw)
    with pytest.raises(ValueError, match="as_of must be timezone-aware"):
        apply_events(base, frame(), repeatable=np.zeros(6, bool), as_of=datetime(2024, 8, 1),
                     **kw)


def test_overlay_equals_a_snapshot_rebuilt_with_the_events(bank: BankData) -> None:
    """Snapshot at t1 + events in (t1, t2] == snapshot at t2 (no decay: exact equality)."""
    t2 = bank.events[C.timestamp].max()
    t1 = t2 - timedelta(days=60)
    old = Snapshot.build(bank, weights=WEIGHTS, half_life_days=None, as_of=t1)
    new = Snapshot.build(bank, weights=WEIGHTS, half_life_days=None, as_of=t2)
    recent = bank.events.filter(pl.col(C.timestamp) > t1).sort(C.timestamp)
    ids = recent[C.customer_id].unique().sort().head(300).to_list() + ["never-seen"]
    rows = RecentEvents.from_frame(recent.select(C.customer_id, C.product_id, C.event, C.timestamp))
    state = overlay(old, ids, rows, as_of=t2.astimezone(UTC), half_life=None)
    expected = batch_state(new, ids)
    assert recent.height > 0 and expected.held.any()
    np.testing.assert_array_equal(state.held, expected.held)
    np.testing.assert_allclose(state.history, expected.history, rtol=1e-5)


def test_a_recorded_purchase_leaves_the_next_suggestions(engine, today) -> None:  # noqa: ANN001
    """The serving path: snapshot state + overlay -> the bought product is no longer offered."""
    snap = engine.snapshot
    customer = snap.customer_map.ids[0]
    before = engine.answer(Request([customer], 5, at_noon(today), reasons=0))
    offered = [int(p) for p in before.ids[0] if p >= 0 and not engine.catalog.repeatable[p]]
    assert offered, "the test needs a non-repeatable product among the suggestions"
    bought = snap.product_map.ids[offered[0]]
    now = snap.as_of + timedelta(minutes=5)
    new = NewEvents(frame((customer, bought, "purchase", now)), WEIGHTS, HALF_LIFE, now)
    after = engine.answer(Request([customer], 5, at_noon(today), events=new, reasons=0))
    assert offered[0] not in after.ids[0].tolist()
    assert not after.masks["held"][0, offered[0]]


def test_only_moves_that_cancel_out_leave_the_holdings(tiny_snapshot: Snapshot) -> None:
    # a buy and a cancel at one instant are the customer's only moves: the replay found no
    # cell left to reduce and raised IndexError, failing the whole request
    events = frame(("c1", "p5", "purchase", at(1)), ("c1", "p5", "close", at(1)))
    state = overlay(tiny_snapshot, ["c1"], events)
    assert held(tiny_snapshot, state, 0) == {"p1": 1.0, "p4": 1.0}


def test_last_purchase_and_look_move_to_the_newest_event(tiny_snapshot: Snapshot) -> None:
    before = batch_state(tiny_snapshot, ["c4", "c1"])
    events = frame(("c4", "p2", "view", at(1)), ("c4", "p2", "click", at(2)),
                   ("c4", "p3", "purchase", at(3)), ("c4", "p3", "close", at(4)),
                   ("c1", "p1", "impression", at(5)))
    state = overlay(tiny_snapshot, ["c4", "c1"], events)
    p2, p3 = tiny_snapshot.product_map.to_internal(["p2", "p3"])
    micros = {d: (at(d) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
              for d in (2, 3)}
    assert state.looked_at[0, p2] == micros[2] and state.bought_at[0, p3] == micros[3]
    changed = np.zeros_like(state.looked_at, dtype=bool)
    changed[0, p2] = True
    np.testing.assert_array_equal(state.looked_at[~changed], before.looked_at[~changed])
    changed[:] = False
    changed[0, p3] = True
    np.testing.assert_array_equal(state.bought_at[~changed], before.bought_at[~changed])
