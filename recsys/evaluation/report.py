"""Evaluation reports: mean metrics, per-segment breakdown, model vs baseline with lift."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.evaluation.metrics import METRICS, Truth, coverage, hit_matrix


class Report:
    """Column names of the report frames (they are not canonical data tables)."""

    model: Final = "model"
    metric: Final = "metric"
    value: Final = "value"
    baseline_value: Final = "baseline_value"
    lift: Final = "lift"
    n_customers: Final = "n_customers"


def metric_key(name: str, k: int) -> str:
    """The key of a metric at k, e.g. `ndcg_at_5` (MLflow metric names allow no '@')."""
    return f"{name}_at_{k}"


def per_row(rec_ids: np.ndarray, truth: Truth, k: int) -> dict[str, np.ndarray]:
    """Every METRICS entry per row (NaN for rows without relevant items), plus n_relevant."""
    hits, n_relevant = hit_matrix(rec_ids, truth, k)
    rows = {metric_key(name, k): fn(hits, n_relevant) for name, fn in METRICS.items()}
    return rows | {"n_relevant": n_relevant}


def evaluate(
    rec_ids: np.ndarray, truth: Truth, k: int, *, n_items: int | None = None
) -> dict[str, float]:
    """Mean of each metric over customers with truth, catalog coverage, and n_customers."""
    rows = per_row(rec_ids, truth, k)
    has_truth = rows.pop("n_relevant") > 0
    if not has_truth.any():
        raise ValueError("no customer has a relevant item in truth; metrics are undefined")
    out = {key: float(values[has_truth].mean()) for key, values in rows.items()}
    out[metric_key("coverage", k)] = coverage(rec_ids, _n_items(truth, n_items), k)
    out[Report.n_customers] = float(has_truth.sum())
    return out


def evaluate_segments(
    rec_ids: np.ndarray,
    truth: Truth,
    k: int,
    segments: Sequence[str] | np.ndarray,
    *,
    n_items: int | None = None,
) -> pl.DataFrame:
    """One row per segment: n_customers with truth, mean metrics, coverage; sorted by segment."""
    rows = per_row(rec_ids, truth, k)
    n_relevant = rows.pop("n_relevant")
    segment = pl.Series(C.segment, np.asarray(segments, dtype=object), dtype=pl.String)
    if segment.len() != len(n_relevant):
        raise ValueError(f"segments has {segment.len()} values, rec_ids {len(n_relevant)} rows")
    frame = pl.DataFrame([segment, *(pl.Series(key, v) for key, v in rows.items())])
    means = (
        frame.filter(pl.Series(n_relevant > 0))
        .group_by(C.segment)
        .agg(pl.len().alias(Report.n_customers), *(pl.col(key).mean() for key in rows))
    )
    cover = _segment_coverage(segment, np.asarray(rec_ids)[:, :k], _n_items(truth, n_items), k)
    return (
        segment.unique()
        .sort()
        .to_frame()
        .join(means, on=C.segment, how="left")
        .join(cover, on=C.segment, how="left")
        .with_columns(
            pl.col(Report.n_customers).fill_null(0).cast(pl.Int64),
            pl.col(metric_key("coverage", k)).fill_null(0.0),  # nothing recommended: 0 covered
        )
    )


def compare(results: Mapping[str, Mapping[str, float]], baseline: str) -> pl.DataFrame:
    """Long frame (model, metric, value, baseline_value, lift); lift = value / baseline - 1."""
    if baseline not in results:
        raise ValueError(f"baseline {baseline!r} not among the results: {list(results)}")
    counts = {m: r.get(Report.n_customers) for m, r in results.items()}
    if len(set(counts.values())) > 1:
        raise ValueError(f"models were evaluated on different customers (n_customers): {counts}")
    metrics = [m for m in results[baseline] if m != Report.n_customers]
    for model, result in results.items():
        if set(result) - {Report.n_customers} != set(metrics):
            raise ValueError(f"{model!r} has metrics {sorted(result)}, baseline {sorted(metrics)}")
    frame = pl.DataFrame(
        {
            Report.model: [m for m in results for _ in metrics],
            Report.metric: metrics * len(results),
            Report.value: [float(results[m][x]) for m in results for x in metrics],
            Report.baseline_value: [float(results[baseline][x]) for x in metrics] * len(results),
        }
    )
    base = pl.col(Report.baseline_value)
    # A zero baseline has no relative lift (it would be infinite); null says "undefined".
    lift = pl.when(base != 0).then(pl.col(Report.value) / base - 1.0).otherwise(None)
    return frame.with_columns(lift.alias(Report.lift))


def _segment_coverage(segment: pl.Series, rec: np.ndarray, n_items: int, k: int) -> pl.DataFrame:
    items = pl.DataFrame(
        {
            C.segment: segment.gather(np.repeat(np.arange(len(rec)), rec.shape[1])),
            "_item": rec.ravel(),
        }
    )
    share = pl.col("_item").n_unique() / n_items
    return (
        items.filter(pl.col("_item") >= 0)
        .group_by(C.segment)
        .agg(share.alias(metric_key("coverage", k)))
    )


def _n_items(truth: Truth, n_items: int | None) -> int:
    if n_items is not None:
        return n_items
    if sp.issparse(truth):
        return truth.shape[1]
    raise ValueError("n_items is required when truth is a list of id sets (for coverage)")
