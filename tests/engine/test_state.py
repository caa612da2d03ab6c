"""BatchState: snapshot rows for known customers, cautious defaults for unknown ones, overrides."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.columns import Columns as C
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import UNKNOWN_RISK_TOLERANCE, UNKNOWN_SEGMENT, batch_state, dense_rows

PURCHASE_WEIGHT = 2.5


def known(snapshot: Snapshot, n: int = 3) -> list[str]:
    """The first n customers that hold something."""
    holders = np.flatnonzero(np.diff(snapshot.held.indptr) > 0)[:n]
    return snapshot.customer_map.ids[holders].tolist()


def held_ids(snapshot: Snapshot, state_held: np.ndarray, row: int) -> set[str]:
    return set(snapshot.product_map.ids[np.flatnonzero(state_held[row])].tolist())


def test_known_customers_take_their_snapshot_rows(snapshot: Snapshot) -> None:
    ids = known(snapshot)[::-1]  # order of the request, not of the snapshot
    state = batch_state(snapshot, ids)
    rows = snapshot.customer_map.to_internal(ids)
    np.testing.assert_array_equal(state.rows, rows)
    np.testing.assert_array_equal(state.history, snapshot.history[rows].toarray())
    np.testing.assert_array_equal(state.held, snapshot.held[rows].toarray())
    assert state.customer_ids == ids
    assert state.features[C.customer_id].to_list() == ids
    expected = snapshot.customers[rows.tolist()]
    assert state.features[C.risk_tolerance].to_list() == expected[C.risk_tolerance].to_list()
    np.testing.assert_array_equal(state.customers.birth_year, expected[C.birth_year].to_numpy())
    assert state.customers.age_known.all()


def test_unknown_customers_get_cautious_defaults(snapshot: Snapshot) -> None:
    ids = ["new-a", known(snapshot, 1)[0], "new-b"]
    state = batch_state(snapshot, ids)
    assert state.rows[0] == -1 and state.rows[2] == -1 and state.rows[1] >= 0
    assert not state.history[[0, 2]].any()
    assert not state.held[[0, 2]].any()
    assert state.customers.age_known.tolist() == [False, True, False]
    assert state.features[C.segment][[0, 2]].to_list() == [UNKNOWN_SEGMENT] * 2
    assert state.features[C.birth_year][[0, 2]].to_list() == [None, None]
    tolerance = state.customers.risk_tolerance
    assert tolerance[[0, 2]].tolist() == [UNKNOWN_RISK_TOLERANCE] * 2
    assert state.customers.marketing_consent[[0, 2]].tolist() == [False, False]


def test_holdings_override_replaces_only_the_given_rows(snapshot: Snapshot) -> None:
    a, b = known(snapshot, 2)
    product = snapshot.product_map.ids[0]
    other = snapshot.product_map.ids[1]
    state = batch_state(
        snapshot,
        [a, b, "new"],
        [[product, product, other], None, [other]],
        purchase_weight=PURCHASE_WEIGHT,
    )
    b_row = snapshot.customer_map.to_internal([b])[0]
    assert held_ids(snapshot, state.held, 0) == {product, other}
    assert sorted(state.held[0][state.held[0] > 0].tolist()) == [1, 1]  # listed twice: one
    np.testing.assert_array_equal(state.held[1], snapshot.held[b_row].toarray().ravel())
    assert held_ids(snapshot, state.held, 2) == {other}
    # the history keeps what the customer did and adds the holdings as purchases
    a_row = snapshot.customer_map.to_internal([a])[0]
    before = snapshot.history[a_row].toarray().ravel()
    after = state.history[0]
    cols = snapshot.product_map.to_internal([product, other])
    np.testing.assert_allclose(after[cols], np.maximum(before[cols], PURCHASE_WEIGHT))
    rest = np.setdiff1d(np.arange(len(before)), cols)
    np.testing.assert_array_equal(after[rest], before[rest])
    assert state.history[2][cols[1]] == PURCHASE_WEIGHT


def test_empty_holdings_list_means_holds_nothing(snapshot: Snapshot) -> None:
    a = known(snapshot, 1)[0]
    state = batch_state(snapshot, [a], [[]])
    assert not state.held[0].any()


def test_holdings_of_unknown_products_are_refused(snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="unknown product ids \\['NOPE'\\]"):
        batch_state(snapshot, ["x"], [["NOPE", snapshot.product_map.ids[0]]])


def test_holdings_must_match_the_customers(snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="holdings has 1 entries for 2 customers"):
        batch_state(snapshot, ["x", "y"], [None])


def test_rows_are_cut_like_scipy_row_indexing(snapshot: Snapshot) -> None:
    rng = np.random.default_rng(5)
    for size in (0, 1, 1, 2, 9, 50):
        rows = rng.integers(-1, snapshot.history.shape[0], size)
        got = dense_rows(snapshot.history, rows, np.float32)
        expected = snapshot.history[np.maximum(rows, 0)].toarray()
        expected[rows < 0] = 0
        assert got.shape == (size, snapshot.history.shape[1])
        np.testing.assert_array_equal(got, expected)
