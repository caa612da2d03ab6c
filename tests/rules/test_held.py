"""Held: held non-repeatable products are not allowed; repeatable ones stay allowed."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.rules.held import not_held
from tests.rules.conftest import catalog_of

QUANTITIES = np.array([[1, 0, 2], [0, 3, 0], [0, 0, 0]])
EXPECTED = [[False, True, True], [True, True, True], [True, True, True]]


def _catalog():
    return catalog_of(
        [
            {C.product_id: "A"},
            {C.product_id: "B", C.repeatable: True},
            {C.product_id: "C"},
        ]
    )


@pytest.mark.parametrize(
    "held", [QUANTITIES, sp.csr_array(QUANTITIES), sp.csr_matrix(QUANTITIES), QUANTITIES.tolist()]
)
def test_dense_and_sparse_holdings_agree(held):
    mask = not_held(_catalog(), held, 3)
    expected = [row.copy() for row in EXPECTED]
    expected[0][2] = False  # customer 0 holds two of C, non-repeatable
    assert mask.tolist() == expected


def test_no_holdings_allows_everything():
    assert not_held(_catalog(), None, 2).all()


def test_duplicate_sparse_entries_are_summed_first():
    # Two entries for one cell, +1 and -1: the net quantity is 0, so the product is not held.
    held = sp.csr_array((np.array([1, -1]), np.array([0, 0]), np.array([0, 2, 2])), shape=(2, 3))
    assert not held.has_canonical_format
    assert not_held(_catalog(), held, 2).all()


def test_wrong_shape_is_refused():
    with pytest.raises(
        ValueError, match=r"held has shape \(2, 3\), expected \(3, 3\) \(customers, products\)"
    ):
        not_held(_catalog(), np.zeros((2, 3)), 3)
