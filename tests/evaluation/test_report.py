"""Reports: mean metrics, per-segment breakdown, comparison against a baseline."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.evaluation.report import Report, compare, evaluate, evaluate_segments

RECS = np.array([[4, 0, 7], [1, 2, 3], [5, -1, -1], [0, 1, 2]])
TRUTH = [{4, 7}, {2, 8, 9, 10, 11}, {6}, set()]
KEYS = ["precision", "recall", "map", "ndcg", "hit_rate", "mrr", "coverage"]


def test_evaluate_hand_computed():
    result = evaluate(RECS, TRUTH, 3, n_items=12)
    assert list(result) == [f"{m}_at_3" for m in KEYS] + ["n_customers"]
    assert result["n_customers"] == 3  # the customer without truth is not counted
    assert result["precision_at_3"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert result["map_at_3"] == pytest.approx(((1 + 2 / 3) / 2 + (1 / 2) / 3 + 0) / 3)
    assert result["mrr_at_3"] == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert result["coverage_at_3"] == pytest.approx(7 / 12)


def test_evaluate_takes_n_items_from_sparse_truth():
    truth = sp.csr_array(([1, 1, 1], ([0, 0, 1], [4, 7, 2])), shape=(2, 20))
    result = evaluate(RECS[:2], truth, 2)
    assert result["coverage_at_2"] == pytest.approx(4 / 20)
    assert result["hit_rate_at_2"] == pytest.approx(1.0)


def test_evaluate_errors():
    with pytest.raises(ValueError, match="n_items is required"):
        evaluate(RECS, TRUTH, 3)
    with pytest.raises(ValueError, match="no customer has a relevant item"):
        evaluate(RECS[3:], [set()], 3, n_items=12)


def test_segments_breakdown():
    frame = evaluate_segments(RECS, TRUTH, 3, ["a", "b", "a", "c"], n_items=12)
    assert frame[C.segment].to_list() == ["a", "b", "c"]
    assert frame[Report.n_customers].to_list() == [2, 1, 0]
    assert frame["precision_at_3"].to_list()[:2] == pytest.approx([(2 / 3) / 2, 1 / 3])
    assert frame["precision_at_3"][2] is None  # nobody in c had anything to find
    assert frame["coverage_at_3"].to_list() == pytest.approx([4 / 12, 3 / 12, 3 / 12])


def test_segments_must_match_the_rows():
    with pytest.raises(ValueError, match="segments has 2 values, rec_ids 4 rows"):
        evaluate_segments(RECS, TRUTH, 3, ["a", "b"], n_items=12)


def _results():
    return {
        "als": {"map_at_5": 0.12, "ndcg_at_5": 0.2, "n_customers": 10.0},
        "popular": {"map_at_5": 0.08, "ndcg_at_5": 0.0, "n_customers": 10.0},
    }


def test_compare_lift_against_the_baseline():
    frame = compare(_results(), "popular")
    assert frame.columns == ["model", "metric", "value", "baseline_value", "lift"]
    rows = {(m, x): lift for m, x, lift in frame.select("model", "metric", "lift").iter_rows()}
    assert rows[("als", "map_at_5")] == pytest.approx(0.5)
    assert rows[("popular", "map_at_5")] == pytest.approx(0.0)
    assert rows[("als", "ndcg_at_5")] is None  # zero baseline: lift undefined
    assert frame.height == 4


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"popular": {"map_at_5": 0.1, "ndcg_at_5": 0.1, "n_customers": 9.0}}, "different custom"),
        ({"popular": {"map_at_5": 0.1, "n_customers": 10.0}}, "has metrics"),
    ],
)
def test_compare_refuses_mismatched_results(change, message):
    with pytest.raises(ValueError, match=message):
        compare(_results() | change, "popular")
    with pytest.raises(ValueError, match="baseline 'random' not among"):
        compare(_results(), "random")
