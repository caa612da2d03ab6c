"""masked_topk: the one batch top-k; ties, padding, k > n, against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsys.rules import PAD_ID, masked_topk

NEG = -np.inf


def _reference(scores: np.ndarray, allowed: np.ndarray, k: int):
    """Sort each row by (-score, id) in plain Python; pad with -1 / -inf."""
    ids, out = [], []
    for row_scores, row_allowed in zip(scores.astype(np.float32), allowed, strict=True):
        ranked = sorted(
            (-float(s), j)
            for j, (s, a) in enumerate(zip(row_scores, row_allowed, strict=True))
            if a and s > NEG
        )[:k]
        pad = k - len(ranked)
        ids.append([j for _, j in ranked] + [PAD_ID] * pad)
        out.append([-s for s, _ in ranked] + [NEG] * pad)
    return np.array(ids, dtype=np.int32).reshape(-1, k), np.array(out, np.float32).reshape(-1, k)


def test_ties_break_to_the_lower_id():
    scores = np.array([[0.5, 0.9, 0.5, 0.9, 0.5]])
    ids, vals = masked_topk(scores, np.ones_like(scores, dtype=bool), 3)
    assert ids.tolist() == [[1, 3, 0]]
    assert vals.tolist() == [[np.float32(0.9), np.float32(0.9), 0.5]]


def test_tie_straddling_the_partition_boundary_keeps_the_lowest_ids():
    scores = np.array([[1.0, 2.0, 2.0, 2.0, 2.0, 0.0]])
    ids, _ = masked_topk(scores, np.ones_like(scores, dtype=bool), 2)
    assert ids.tolist() == [[1, 2]]


def test_disallowed_never_appear_and_short_rows_are_padded():
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    allowed = np.array([[False, True, False, True], [False] * 4, [True, False, False, False]])
    ids, vals = masked_topk(scores, allowed, 3)
    assert ids.tolist() == [[1, 3, PAD_ID], [PAD_ID] * 3, [0, PAD_ID, PAD_ID]]
    assert vals.tolist() == [[4.0, 2.0, NEG], [NEG] * 3, [1.0, NEG, NEG]]


def test_k_larger_than_the_catalog_pads_to_k():
    ids, vals = masked_topk(np.array([[0.1, 0.3]]), np.array([[True, True]]), 5)
    assert ids.shape == (1, 5) and vals.shape == (1, 5)
    assert ids.tolist() == [[1, 0, -1, -1, -1]]
    assert ids.dtype == np.int32 and vals.dtype == np.float32


def test_minus_infinity_scores_mean_never_recommend():
    ids, _ = masked_topk(np.array([[NEG, 0.0, NEG]]), np.ones((1, 3), dtype=bool), 3)
    assert ids.tolist() == [[1, PAD_ID, PAD_ID]]


def test_nan_is_tolerated_only_where_disallowed():
    scores = np.array([[np.nan, 1.0], [0.0, np.nan]])
    ids, _ = masked_topk(scores, np.array([[False, True], [True, False]]), 1)
    assert ids.tolist() == [[1], [0]]
    with pytest.raises(ValueError, match=r"NaN for allowed products in rows \[1\]"):
        masked_topk(scores, np.array([[False, True], [True, True]]), 1)


def test_empty_batch():
    ids, vals = masked_topk(np.zeros((0, 4)), np.zeros((0, 4), dtype=bool), 2)
    assert ids.shape == (0, 2) and vals.shape == (0, 2)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        masked_topk(np.zeros((1, 3)), np.ones((1, 3), dtype=bool), k)


def test_shape_and_dtype_checks():
    with pytest.raises(ValueError, match="allowed has shape"):
        masked_topk(np.zeros((2, 3)), np.ones((2, 2), dtype=bool), 1)
    with pytest.raises(ValueError, match="must be 2-D"):
        masked_topk(np.zeros(3), np.ones(3, dtype=bool), 1)
    with pytest.raises(TypeError, match="bool mask"):
        masked_topk(np.zeros((1, 3)), np.ones((1, 3)), 1)


# Few distinct values so that ties (and infinities) are common.
_values = st.sampled_from([NEG, -1.0, 0.0, 0.25, 0.5, 1.0, np.inf])


@st.composite
def _batches(draw):
    b, n = draw(st.integers(0, 6)), draw(st.integers(1, 12))
    scores = draw(hnp.arrays(np.float64, (b, n), elements=_values))
    allowed = draw(hnp.arrays(np.bool_, (b, n)))
    return scores, allowed, draw(st.integers(1, n + 3))


@settings(max_examples=300, deadline=None)
@given(_batches())
def test_matches_the_brute_force_reference(batch):
    scores, allowed, k = batch
    ids, vals = masked_topk(scores, allowed, k)
    ref_ids, ref_vals = _reference(scores, allowed, k)
    assert np.array_equal(ids, ref_ids)
    assert np.array_equal(vals, ref_vals)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(1, 60), st.integers(0, 2**32 - 1))
def test_random_float_scores_match_the_reference(n, k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(4, n)).round(1)  # rounding forces ties
    allowed = rng.random((4, n)) < 0.7
    ids, vals = masked_topk(scores, allowed, k)
    ref_ids, ref_vals = _reference(scores, allowed, k)
    assert np.array_equal(ids, ref_ids) and np.array_equal(vals, ref_vals)


def test_no_mask_means_everything_allowed():
    ids, _ = masked_topk(np.array([[0.2, 0.9, 0.5]]), None, 2)
    assert ids.tolist() == [[1, 2]]


@settings(max_examples=50, deadline=None)
@given(_batches())
def test_a_row_gets_the_same_answer_alone_as_in_its_batch(batch):
    scores, allowed, k = batch
    ids, vals = masked_topk(scores, allowed, k)
    for i in range(scores.shape[0]):
        alone_ids, alone_vals = masked_topk(scores[i : i + 1], allowed[i : i + 1], k)
        assert np.array_equal(alone_ids[0], ids[i]) and np.array_equal(alone_vals[0], vals[i])
