"""The promotion gate: a candidate replaces the champion only if it is measurably better.

Measurably: a paired bootstrap over the holdout's customers (recsys.evaluation.bootstrap).
The candidate must beat the champion by the margin with confidence (the lower bound of the
difference above margin x the champion's mean), so a lucky small holdout cannot promote a
model. A learned model must also beat the strongest simple baseline on the mean (its
interval is reported): a model that loses to "what came next for others" is no model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.evaluation.bootstrap import Difference, paired_difference


@dataclass(frozen=True)
class GateVerdict:
    """Whether to promote, and a sentence saying why (with the bootstrap intervals)."""

    promote: bool
    reason: str
    against_baseline: Difference | None = None
    against_champion: Difference | None = None


@dataclass(frozen=True)
class Opponent:
    """What the candidate is compared with: a name for the reason and per-customer values."""

    name: str
    values: pl.DataFrame  # customer_id + the metric column


def gate_verdict(
    candidate: pl.DataFrame,
    *,
    metric: str,
    margin: float,
    champion: Opponent | None = None,
    baseline: Opponent | None = None,
    seed: int = 0,
) -> GateVerdict:
    """Promote when the candidate beats the baseline and the champion (by margin), surely."""
    cand = _mean(candidate, metric)
    if not math.isfinite(cand):
        return GateVerdict(False, f"candidate has no finite {metric!r} (got {cand!r})")
    parts, vs_base = [], None
    if baseline is not None:
        a, b = _paired(candidate, baseline.values, metric)
        if np.array_equal(a, b, equal_nan=True):
            parts.append(f"the candidate ranks as the strongest baseline {baseline.name}")
        else:
            vs_base = paired_difference(a, b, seed=seed)
            text = f"{metric} vs the strongest baseline {baseline.name}: {vs_base.text()}"
            if vs_base.mean <= 0:
                return GateVerdict(False, f"does not beat the strongest baseline: {text}", vs_base)
            parts.append(text)
    if champion is None:
        reason = "; ".join([f"no current champion; candidate {metric}={cand:.4f}", *parts])
        return GateVerdict(True, reason, vs_base)
    champ = _mean(champion.values, metric)
    if not math.isfinite(champ):
        reason = f"{champion.name} has no finite {metric!r}; candidate {metric}={cand:.4f}"
        return GateVerdict(True, "; ".join([reason, *parts]), vs_base)
    vs_champ = paired_difference(*_paired(candidate, champion.values, metric), seed=seed)
    needed = margin * champ if champ > 0 else margin
    text = (
        f"{metric} {cand:.4f} vs {champion.name} {champ:.4f}: difference {vs_champ.text()}, "
        f"lower bound needed > {needed:+.4f} (margin {margin:.1%})"
    )
    promote = vs_champ.low > needed
    verb = "beats" if promote else "does not surely beat the champion"
    return GateVerdict(promote, "; ".join([f"{verb}: {text}", *parts]), vs_base, vs_champ)


def _mean(values: pl.DataFrame, metric: str) -> float:
    if metric not in values.columns:
        return float("nan")
    column = values[metric].drop_nans().drop_nulls()
    return float(column.mean()) if column.len() else float("nan")


def _paired(a: pl.DataFrame, b: pl.DataFrame, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Both values of the customers in both frames, in one order."""
    both = a.select(C.customer_id, pl.col(metric).alias("_a")).join(
        b.select(C.customer_id, pl.col(metric).alias("_b")), on=C.customer_id, how="inner"
    )
    if both.is_empty():
        raise ValueError(f"the candidate and its opponent share no evaluated customer ({metric})")
    both = both.sort(C.customer_id)
    return both["_a"].to_numpy(), both["_b"].to_numpy()
