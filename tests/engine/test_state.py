"""BatchState: snapshot rows for known customers, cautious defaults for unknown ones, overrides."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.columns import Columns as C
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import UNKNOWN_RISK_TOLERANCE, UNKNOWN_SEGMENT, batch_state

PURCHASE_WEIGHT = 2.5


def known(snapshot: Snapshot, n: int = 3) -> list[str]:
    """The first n customers that hold something."""
    holders = np.flatnonzero(np.diff(snapshot.held.indptr) > 0)[:n]
    return snapshot.customer_map.ids[holders].tolist()


def held_ids(snapshot: Snapshot, state_held, row: int) -> set[str]:  # noqa: ANN001 - csr row
    return set(snapshot.product_map.ids[state_held[row].indices].tolist())


def test_known_customers_take_their_snapshot_rows(snapshot: Snapshot) -> None:
    ids = known(snapshot)[::-1]  # order of the request, not of the snapshot
    state = batch_state(snapshot, ids)
    rows = snapshot.customer_map.to_internal(ids)
    np.testing.assert_array_equal(state.rows, rows)
    assert (state.history != snapshot.history[rows]).nnz == 0
    assert (state.held != snapshot.held[rows]).nnz == 0
    assert state.customer_ids == ids
    assert state.features[C.customer_id].to_list() == ids
    expected = snapshot.customers[rows.tolist()]
    assert state.features[C.risk_tolerance].to_list() == expected[C.risk_tolerance].to_list()
    np.testing.assert_array_equal(state.customers.birth_year, expected[C.birth_year].to_numpy())
    assert state.age_known.all()


def test_unknown_customers_get_cautious_defaults(snapshot: Snapshot) -> None:
    ids = ["new-a", known(snapshot, 1)[0], "new-b"]
    state = batch_state(snapshot, ids)
    assert state.rows[0] == -1 and state.rows[2] == -1 and state.rows[1] >= 0
    assert np.diff(state.history.indptr)[[0, 2]].tolist() == [0, 0]
    assert np.diff(state.held.indptr)[[0, 2]].tolist() == [0, 0]
    assert state.age_known.tolist() == [False, True, False]
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
    assert state.held[0].data.tolist() == [1.0, 1.0]  # listed twice is still one holding
    assert (state.held[1] != snapshot.held[b_row]).nnz == 0
    assert held_ids(snapshot, state.held, 2) == {other}
    # the history keeps what the customer did and adds the holdings as purchases
    a_row = snapshot.customer_map.to_internal([a])[0]
    before = snapshot.history[a_row].toarray().ravel()
    after = state.history[0].toarray().ravel()
    cols = snapshot.product_map.to_internal([product, other])
    np.testing.assert_allclose(after[cols], np.maximum(before[cols], PURCHASE_WEIGHT))
    rest = np.setdiff1d(np.arange(len(before)), cols)
    np.testing.assert_array_equal(after[rest], before[rest])
    assert state.history[2].toarray().ravel()[cols[1]] == PURCHASE_WEIGHT


def test_empty_holdings_list_means_holds_nothing(snapshot: Snapshot) -> None:
    a = known(snapshot, 1)[0]
    state = batch_state(snapshot, [a], [[]])
    assert state.held[0].nnz == 0


def test_holdings_of_unknown_products_are_refused(snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="unknown product ids \\['NOPE'\\]"):
        batch_state(snapshot, ["x"], [["NOPE", snapshot.product_map.ids[0]]])


def test_holdings_must_match_the_customers(snapshot: Snapshot) -> None:
    with pytest.raises(ValueError, match="holdings has 1 entries for 2 customers"):
        batch_state(snapshot, ["x", "y"], [None])
