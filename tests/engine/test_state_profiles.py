"""ProfileArrays: batch_state with the per-snapshot arrays equals batch_state without them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.engine.snapshot import Snapshot
from recsys.engine.state import BatchState, ProfileArrays, _take_rows, batch_state


def assert_same_state(got: BatchState, expected: BatchState) -> None:
    assert got.customer_ids == expected.customer_ids
    np.testing.assert_array_equal(got.rows, expected.rows)
    for name in ("history", "held"):
        a, b = getattr(got, name), getattr(expected, name)
        assert a.shape == b.shape and a.dtype == b.dtype, name
        np.testing.assert_array_equal(a.toarray(), b.toarray(), err_msg=name)
    assert got.features.equals(expected.features, null_equal=True)
    for name in ("birth_year", "risk_tolerance", "marketing_consent", "segment"):
        a, b = getattr(got.customers, name), getattr(expected.customers, name)
        assert a.dtype == b.dtype, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(got.age_known, expected.age_known)


def with_nulls(snapshot: Snapshot) -> Snapshot:
    """Some customers without birth year, segment, risk tolerance or consent."""
    every = pl.int_range(pl.len())
    customers = snapshot.customers.with_columns(
        pl.when(every % 5 == 0).then(None).otherwise(pl.col(c)).alias(c)
        for c in (C.birth_year, C.segment, C.risk_tolerance, C.marketing_consent)
    )
    return replace(snapshot, customers=customers)


@pytest.mark.parametrize("nulls", [False, True])
def test_profile_arrays_give_the_same_states(snapshot: Snapshot, nulls: bool) -> None:
    snap = with_nulls(snapshot) if nulls else snapshot
    profiles = ProfileArrays.of(snap.customers)
    ids = snap.customer_map.ids
    batches = [
        [str(ids[0])], [str(ids[5])], ["nobody"], [str(ids[10]), "nobody", str(ids[3])],
        [str(ids[i]) for i in range(0, 200, 7)], [str(ids[2]), str(ids[2])], [],
    ]
    for batch in batches:
        assert_same_state(
            batch_state(snap, batch, profiles=profiles), batch_state(snap, batch)
        )


def test_holdings_overrides_are_the_same_with_profile_arrays(snapshot: Snapshot) -> None:
    profiles = ProfileArrays.of(snapshot.customers)
    ids = [str(snapshot.customer_map.ids[1]), "nobody"]
    first = str(snapshot.product_map.ids[0])
    holdings = [[first], None]
    assert_same_state(
        batch_state(snapshot, ids, holdings, purchase_weight=2.0, profiles=profiles),
        batch_state(snapshot, ids, holdings, purchase_weight=2.0),
    )


def test_rows_are_cut_like_scipy_row_indexing(snapshot: Snapshot) -> None:
    n = snapshot.history.shape[1]
    rng = np.random.default_rng(5)
    for size in (0, 1, 1, 2, 9, 50):
        rows = rng.integers(-1, snapshot.history.shape[0], size)
        got = _take_rows(snapshot.history, rows, n)
        expected = snapshot.history[np.maximum(rows, 0)].toarray()
        expected[rows < 0] = 0
        assert got.dtype == snapshot.history.dtype and got.shape == (size, n)
        np.testing.assert_array_equal(got.toarray(), expected)
        assert not np.shares_memory(got.data, snapshot.history.data)  # a copy
