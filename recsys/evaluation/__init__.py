"""Offline evaluation: splits of the event history, top-k metrics, reports and plots."""

from recsys.evaluation.metrics import METRICS, coverage, hit_matrix, truth_matrix
from recsys.evaluation.report import Report, compare, evaluate, evaluate_segments, metric_key
from recsys.evaluation.splits import (
    Split,
    hide_one_split,
    rolling_monthly_splits,
    split_between,
    time_split,
)

__all__ = [
    "METRICS",
    "Report",
    "Split",
    "compare",
    "coverage",
    "evaluate",
    "evaluate_segments",
    "hide_one_split",
    "hit_matrix",
    "metric_key",
    "rolling_monthly_splits",
    "split_between",
    "time_split",
    "truth_matrix",
]
