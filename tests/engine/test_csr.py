"""csr_of wraps canonical arrays as scipy's checked constructor would build them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import recsys.engine.csr as csr
from recsys.engine.csr import csr_of


def test_the_wrapping_is_taken_on_this_scipy() -> None:
    # if a scipy release breaks it, requests still work (checked constructor), only slower
    assert csr._WRAP_WORKS, "recsys.engine.csr fell back to scipy's constructor"


@given(
    dense=st.lists(
        st.lists(st.sampled_from([0.0, 0.0, 1.0, -2.5, 3.25]), min_size=7, max_size=7),
        min_size=1,
        max_size=5,
    ),
    index=st.sampled_from([np.int32, np.int64]),
)
def test_a_wrapped_matrix_equals_the_checked_one(dense: list[list[float]], index: type) -> None:
    values = np.array(dense, dtype=np.float32)
    checked = sp.csr_matrix(values)
    parts = (checked.data, checked.indices.astype(index), checked.indptr.astype(index))
    got = csr_of(*parts, values.shape)
    assert type(got) is sp.csr_matrix and got.shape == values.shape
    assert got.indices.dtype == index and got.has_canonical_format
    np.testing.assert_array_equal(got.toarray(), values)
    vector = np.linspace(-1, 1, values.shape[1], dtype=np.float32)
    np.testing.assert_array_equal(got @ vector, checked @ vector)
    np.testing.assert_array_equal(got[::-1].toarray(), values[::-1])
    np.testing.assert_array_equal(
        got.maximum(checked * 2).toarray(), np.maximum(values, values * 2)
    )


def test_index_arrays_of_two_dtypes_go_through_scipy() -> None:
    got = csr_of(
        np.array([1.0], np.float32),
        np.array([2], np.int64),
        np.array([0, 1], np.int32),
        (1, 3),
    )
    assert got.indices.dtype == got.indptr.dtype
    np.testing.assert_array_equal(got.toarray(), [[0.0, 0.0, 1.0]])


def test_without_the_wrapping_the_checked_constructor_answers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(csr, "_WRAP_WORKS", False)
    got = csr_of(np.array([1.0]), np.array([2], np.int32), np.array([0, 1], np.int32), (1, 3))
    np.testing.assert_array_equal(got.toarray(), [[0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="index pointer"):  # scipy's own check
        csr_of(np.array([1.0]), np.array([2], np.int32), np.array([0, 1], np.int32), (2, 3))
