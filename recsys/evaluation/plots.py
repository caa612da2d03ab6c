"""PNG charts of evaluation results (matplotlib Agg canvas; no pyplot global state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from recsys.columns import Columns as C
from recsys.evaluation.report import Report


def grouped_bars(
    groups: Sequence[str], series: dict[str, Sequence[float]], *, title: str, ylabel: str
) -> Figure:
    """One cluster of bars per group, one bar per series inside each cluster, with a legend."""
    fig = Figure(figsize=(max(6.0, 1.2 * len(groups) * max(len(series), 1) ** 0.5), 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        if len(values) != len(groups):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(groups)} groups")
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, list(groups), rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def metric_comparison_figure(
    compared: pl.DataFrame, metrics: Sequence[str] | None = None
) -> Figure:
    """Grouped bars from `report.compare`'s frame: metrics on the x axis, one bar per model."""
    _require(compared, (Report.model, Report.metric, Report.value))
    chosen = metrics or compared[Report.metric].unique(maintain_order=True).to_list()
    models = compared[Report.model].unique(maintain_order=True).to_list()
    series = {}
    for model in models:
        rows = compared.filter(pl.col(Report.model) == model)
        lookup = dict(zip(rows[Report.metric].to_list(), rows[Report.value].to_list(), strict=True))
        missing = [m for m in chosen if m not in lookup]
        if missing:
            raise ValueError(f"model {model!r} has no value for metric(s) {missing}")
        series[model] = [lookup[m] for m in chosen]
    return grouped_bars(chosen, series, title="Models against baselines", ylabel="value")


def segment_figure(segments: pl.DataFrame, metric: str) -> Figure:
    """Bars of one metric per segment; one bar per model when the frame has a model column."""
    _require(segments, (C.segment, metric))
    frame = segments.sort(C.segment)
    if Report.model not in frame.columns:
        frame = frame.with_columns(pl.lit(metric).alias(Report.model))
    groups = frame[C.segment].unique(maintain_order=True).to_list()
    wide = frame.pivot(on=Report.model, index=C.segment, values=metric, sort_columns=False)
    wide = wide.join(pl.DataFrame({C.segment: groups}), on=C.segment, how="right")
    models = [c for c in wide.columns if c != C.segment]
    series = {m: wide[m].fill_null(0.0).to_list() for m in models}
    return grouped_bars(groups, series, title=f"{metric} by segment", ylabel=metric)


def save_png(fig: Figure, path: Path) -> Path:
    """Write `fig` as PNG at `path` (parent folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=100)
    return path


def plot_metric_comparison(
    compared: pl.DataFrame, path: Path, metrics: Sequence[str] | None = None
) -> Path:
    """`metric_comparison_figure` written to `path` as PNG."""
    return save_png(metric_comparison_figure(compared, metrics), path)


def plot_segments(segments: pl.DataFrame, metric: str, path: Path) -> Path:
    """`segment_figure` written to `path` as PNG."""
    return save_png(segment_figure(segments, metric), path)


def _require(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}; has {frame.columns}")
