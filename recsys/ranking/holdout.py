"""Calibration on a holdout: (score, bought) pairs of the products the rules allow, per model.

Each model is calibrated on the rows it answers in serving (the fallback on customers with
no history); a fallback with too few purchases there is calibrated on every row's scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.ranking.calibration import Calibrator, Method, Reliability, fit_calibrator, reliability
from recsys.rules import combine, rule_masks

if TYPE_CHECKING:
    from recsys.engine.engine import Engine

MIN_POSITIVES: Final = 20  # purchases a model's own rows need to calibrate it on them alone
BATCH: Final = 20_000


@dataclass(frozen=True, eq=False)
class Pairs:
    """Flat (score, bought) pairs of one model's allowed candidates on the holdout."""

    scores: np.ndarray  # float32
    bought: np.ndarray  # bool


@dataclass(frozen=True, eq=False)
class Calibrated:
    """The fitted calibrators by model name, and each one's reliability on its pairs."""

    calibrators: dict[str, Calibrator]
    reliability: dict[str, Reliability]
    pairs: dict[str, int]  # pairs each was fitted on
    positives: dict[str, int]


def truth_matrix(engine: Engine, customer_ids: Sequence[str], truth: pl.DataFrame) -> np.ndarray:
    """(b, n) bool: customer row bought product column in the holdout (`truth` pairs)."""
    rows = {c: i for i, c in enumerate(customer_ids)}
    out = np.zeros((len(customer_ids), len(engine.catalog)), dtype=bool)
    r = np.array([rows.get(c, -1) for c in truth[C.customer_id].to_list()], dtype=np.int64)
    p = engine.snapshot.product_map.to_internal(truth[C.product_id].to_list(), strict=False)
    keep = (r >= 0) & (p >= 0)
    out[r[keep], p[keep]] = True
    return out


def holdout_pairs(
    engine: Engine, customer_ids: Sequence[str], truth: pl.DataFrame, at: datetime
) -> dict[str, tuple[Pairs, Pairs]]:
    """Per model name: (pairs of the rows it answers, pairs of every row)."""
    from recsys.engine.engine import FALLBACK, MODEL

    own: dict[str, list[Pairs]] = {MODEL: [], FALLBACK: []}
    every: dict[str, list[Pairs]] = {MODEL: [], FALLBACK: []}
    for start in range(0, len(customer_ids), BATCH):
        chunk = list(customer_ids[start : start + BATCH])
        state = engine.state(chunk)
        allowed = combine(rule_masks(engine.catalog, state.customers, state.held, at=at.date()))
        bought = truth_matrix(engine, chunk, truth)
        empty = ~state.history.any(axis=1)
        fell_back = empty if engine.model.needs_history else np.zeros_like(empty)
        for name, model, rows in (
            (MODEL, engine.model, ~fell_back),
            (FALLBACK, engine.fallback, fell_back),
        ):
            use = rows if model.needs_history else np.ones_like(rows)
            scores = np.full(allowed.shape, -np.inf, dtype=np.float32)
            if use.any():
                features = engine.model_features(model, state)
                picked = (
                    features[use]
                    if isinstance(features, np.ndarray)
                    else features.filter(pl.Series(use))
                )
                scores[use] = model.score(state.history[use], state.rows[use], picked)
            ok = allowed & np.isfinite(scores)
            every[name].append(Pairs(scores[ok], bought[ok]))
            mine = ok & rows[:, None]
            own[name].append(Pairs(scores[mine], bought[mine]))
    return {n: (_joined(own[n]), _joined(every[n])) for n in own}


def calibrate(
    engine: Engine,
    customer_ids: Sequence[str],
    truth: pl.DataFrame,
    at: datetime,
    method: Method,
    seed: int = 0,
) -> Calibrated:
    """A calibrator per model from the holdout (all its pairs), and its reliability measured
    honestly: fitted on one half of the pairs, judged on the other."""
    fitted, rel, n, pos = {}, {}, {}, {}
    for name, (own, every) in holdout_pairs(engine, customer_ids, truth, at).items():
        pairs = own if own.bought.sum() >= MIN_POSITIVES else every
        if pairs.bought.sum() == 0:
            raise ValueError(f"no purchases of allowed products on the holdout to calibrate {name}")
        fitted[name] = fit_calibrator(pairs.scores, pairs.bought, method)
        half = np.random.default_rng(seed).random(pairs.scores.size) < 0.5
        on_half = fit_calibrator(pairs.scores[half], pairs.bought[half], method)
        rel[name] = reliability(on_half(pairs.scores[~half]), pairs.bought[~half])
        n[name], pos[name] = int(pairs.scores.size), int(pairs.bought.sum())
    return Calibrated(fitted, rel, n, pos)


def _joined(parts: list[Pairs]) -> Pairs:
    if not parts:
        return Pairs(np.empty(0, np.float32), np.empty(0, bool))
    return Pairs(
        np.concatenate([p.scores for p in parts]), np.concatenate([p.bought for p in parts])
    )
