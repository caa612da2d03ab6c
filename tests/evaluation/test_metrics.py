"""Top-k metrics: exact hand-computed values and a set-based reference implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.evaluation.metrics import (
    METRICS,
    average_precision,
    coverage,
    hit_matrix,
    hit_rate,
    ndcg,
    precision,
    recall,
    reciprocal_rank,
    truth_matrix,
)

# Row 0 hits at ranks 1 and 3 of 2 relevant; row 1 hits at rank 2 of 5 relevant;
# row 2 misses (and is padded); row 3 has no relevant items at all.
RECS = np.array([[4, 0, 7], [1, 2, 3], [5, -1, -1], [0, 1, 2]])
TRUTH = [{4, 7}, {2, 8, 9, 10, 11}, {6}, set()]


def _hits():
    return hit_matrix(RECS, TRUTH, 3)


def test_hit_matrix():
    hits, n_relevant = _hits()
    assert hits.tolist() == [
        [True, False, True],
        [False, True, False],
        [False, False, False],
        [False, False, False],
    ]
    assert n_relevant.tolist() == [2, 5, 1, 0]


def _close(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert (math.isnan(a) and math.isnan(e)) or a == pytest.approx(e)


def test_hand_computed_values():
    hits, n = _hits()
    nan = math.nan
    _close(precision(hits, n), [2 / 3, 1 / 3, 0, nan])
    _close(recall(hits, n), [1.0, 1 / 5, 0, nan])
    _close(average_precision(hits, n), [(1 + 2 / 3) / 2, (1 / 2) / 3, 0, nan])
    ideal_2 = 1 + 1 / math.log2(3)
    ideal_3 = ideal_2 + 1 / math.log2(4)
    _close(ndcg(hits, n), [(1 + 1 / math.log2(4)) / ideal_2, (1 / math.log2(3)) / ideal_3, 0, nan])
    _close(hit_rate(hits, n), [1, 1, 0, nan])
    _close(reciprocal_rank(hits, n), [1, 1 / 2, 0, nan])


def test_k_smaller_than_the_list_uses_the_first_k():
    hits, n = hit_matrix(RECS, TRUTH, 1)
    assert hits.shape == (4, 1)
    _close(average_precision(hits, n), [1.0, 0.0, 0.0, math.nan])


def test_sparse_truth_matches_sets():
    dense = np.zeros((4, 12), dtype=np.int8)
    for row, items in enumerate(TRUTH):
        dense[row, list(items)] = 1
    for truth in (sp.csr_array(dense), sp.csr_matrix(dense * 3)):
        hits, n = hit_matrix(RECS, truth, 3)
        assert np.array_equal(hits, _hits()[0]) and np.array_equal(n, _hits()[1])


def test_full_rank_mrr_when_k_is_the_catalog():
    ranking = np.array([[3, 2, 1, 0], [0, 1, 2, 3]])
    hits, n = hit_matrix(ranking, [{0}, {3}], 4)
    assert reciprocal_rank(hits, n).tolist() == [1 / 4, 1 / 4]


def test_coverage():
    assert coverage(RECS, 20) == pytest.approx(len({4, 0, 7, 1, 2, 3, 5}) / 20)
    assert coverage(RECS, 20, k=1) == pytest.approx(len({4, 1, 5, 0}) / 20)
    assert coverage(np.full((2, 3), -1), 5) == 0.0


@pytest.mark.parametrize(
    ("recs", "truth", "k", "message"),
    [
        (np.array([[1, 2, 1]]), [{1}], 3, r"repeat an item within rows \[0\]"),
        (np.array([[1, 2]]), [{1}], 3, r"k must be an integer in 1..2"),
        (np.array([[1, 2]]), [{1}], 0, r"k must be an integer in 1..2"),
        (np.array([[1, 2]]), [{1}, {2}], 2, r"rec_ids has 1 rows but truth has 2"),
        (np.array([[1, -2]]), [{1}], 2, r"negative ids other than -1"),
        (np.array([[1.0, 2.0]]), [{1}], 2, r"2-D integer array"),
        (np.array([[1, 9]]), sp.csr_array(np.ones((1, 5))), 2, r"ids >= n_items=5"),
        (np.array([[1, 2]]), [{-3}], 2, r"negative item ids"),
    ],
)
def test_bad_input_is_refused(recs, truth, k, message):
    with pytest.raises(ValueError, match=message):
        hit_matrix(recs, truth, k)


def test_truth_matrix_from_sets_checks_the_width():
    assert truth_matrix([{0, 2}, set()], 3).toarray().tolist() == [[1, 0, 1], [0, 0, 0]]
    with pytest.raises(ValueError, match="n_items=3"):
        truth_matrix([{5}], 3)


def _reference(recs: list[int], truth: set[int], k: int) -> dict[str, float]:
    """Textbook definitions, one customer at a time."""
    recs = recs[:k]
    hits = [r >= 0 and r in truth for r in recs]
    ranks = [i + 1 for i, h in enumerate(hits) if h]
    ap = sum(sum(hits[:r]) / r for r in ranks) / min(len(truth), k)
    dcg = sum(1 / math.log2(r + 1) for r in ranks)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(truth), k)))
    return {
        "precision": len(ranks) / k,
        "recall": len(ranks) / len(truth),
        "map": ap,
        "ndcg": dcg / idcg,
        "hit_rate": float(bool(ranks)),
        "mrr": 1 / ranks[0] if ranks else 0.0,
    }


@st.composite
def _cases(draw):
    n_items, b = draw(st.integers(1, 15)), draw(st.integers(1, 6))
    width = draw(st.integers(1, n_items))
    recs = []
    for _ in range(b):
        row = draw(st.permutations(range(n_items)))[: draw(st.integers(0, width))]
        recs.append(list(row) + [-1] * (width - len(row)))
    truth = [draw(st.sets(st.integers(0, n_items - 1), min_size=1)) for _ in range(b)]
    return np.array(recs, dtype=np.int32), truth, draw(st.integers(1, width)), n_items


@settings(max_examples=200, deadline=None)
@given(_cases())
def test_every_metric_matches_the_textbook_reference(case):
    recs, truth, k, n_items = case
    hits, n_relevant = hit_matrix(recs, truth_matrix(truth, n_items), k)
    for name, fn in METRICS.items():
        values = fn(hits, n_relevant)
        expected = [_reference(r.tolist(), t, k)[name] for r, t in zip(recs, truth, strict=True)]
        assert values == pytest.approx(expected), name


def test_sparse_truth_with_unsorted_indices():
    truth = sp.csr_array((np.ones(3), np.array([7, 2, 4]), np.array([0, 3])), shape=(1, 10))
    hits, n = hit_matrix(np.array([[4, 7, 2, 3]]), truth, 4)
    assert hits.tolist() == [[True, True, True, False]] and n.tolist() == [3]
