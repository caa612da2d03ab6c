"""Plots: real PNG files whose bars are the data they were given."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.evaluation.plots import (
    metric_comparison_figure,
    plot_metric_comparison,
    plot_segments,
    segment_figure,
)
from recsys.evaluation.report import Report, compare

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _compared() -> pl.DataFrame:
    return compare(
        {
            "als": {"map_at_5": 0.12, "ndcg_at_5": 0.2, "recall_at_5": 0.3},
            "itemknn": {"map_at_5": 0.1, "ndcg_at_5": 0.15, "recall_at_5": 0.25},
            "popular": {"map_at_5": 0.08, "ndcg_at_5": 0.1, "recall_at_5": 0.2},
        },
        "popular",
    )


def _bar_heights(fig) -> list[float]:
    return [round(p.get_height(), 6) for p in fig.axes[0].patches]


def test_comparison_bars_are_the_values_model_by_model():
    fig = metric_comparison_figure(_compared())
    assert len(fig.axes[0].patches) == 3 * 3
    assert _bar_heights(fig) == [0.12, 0.2, 0.3, 0.1, 0.15, 0.25, 0.08, 0.1, 0.2]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        "map_at_5",
        "ndcg_at_5",
        "recall_at_5",
    ]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "als",
        "itemknn",
        "popular",
    ]


def test_comparison_of_chosen_metrics_only():
    fig = metric_comparison_figure(_compared(), metrics=["ndcg_at_5"])
    assert _bar_heights(fig) == [0.2, 0.15, 0.1]
    with pytest.raises(ValueError, match=r"no value for metric\(s\) \['mrr_at_5'\]"):
        metric_comparison_figure(_compared(), metrics=["mrr_at_5"])


def test_comparison_png_is_written(tmp_path):
    path = plot_metric_comparison(_compared(), tmp_path / "plots" / "compare.png")
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def _segments() -> pl.DataFrame:
    return pl.DataFrame(
        {
            C.segment: ["young", "affluent", "mass", "young", "affluent", "mass"],
            Report.model: ["als"] * 3 + ["popular"] * 3,
            "ndcg_at_5": [0.3, 0.2, 0.1, 0.25, 0.15, 0.05],
        }
    )


def test_segment_bars_grouped_by_model(tmp_path):
    fig = segment_figure(_segments(), "ndcg_at_5")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["affluent", "mass", "young"]
    assert _bar_heights(fig) == [0.2, 0.1, 0.3, 0.15, 0.05, 0.25]
    path = plot_segments(_segments(), "ndcg_at_5", tmp_path / "segments.png")
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_segment_bars_of_one_model():
    frame = _segments().filter(pl.col(Report.model) == "als").drop(Report.model)
    assert _bar_heights(segment_figure(frame, "ndcg_at_5")) == [0.2, 0.1, 0.3]


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['map_at_5'\]"):
        segment_figure(_segments(), "map_at_5")
