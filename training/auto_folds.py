"""Splits made ready to fit on (snapshot, train data, fallback), and pooled evaluation.

A protocol may hold several splits (one per adoption month); a model is fitted on each
split's training part and its per-customer figures are pooled, a customer once per split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.models.train_data import TrainData
from recsys.settings import Settings
from training.baselines import evaluate_baselines, fit_baselines
from training.evaluate import engine_for, evaluate_engine, split_snapshot, train_data
from training.pipeline import fallback_factory


@dataclass(frozen=True)
class Fold:
    """One split with what every candidate fits on and falls back to."""

    split: Split
    snap: Snapshot
    fit_on: TrainData
    fallback: Recommender


@dataclass(frozen=True)
class Pooled:
    """Per-customer figures over every fold (customer_id is 'split label/customer')."""

    per_customer: pl.DataFrame

    def mean(self, metric: str) -> float:
        """The metric's mean over the customer-splits with something to find."""
        values = self.per_customer[metric].drop_nans().drop_nulls()
        return float(values.mean()) if values.len() else float("nan")

    def metrics(self) -> dict[str, float]:
        """Every metric's pooled mean, and n_customers."""
        keys = [c for c in self.per_customer.columns if c != C.customer_id]
        out = {key: self.mean(key) for key in keys}
        return out | {"n_customers": float(self.per_customer.height)}


def prepare(data: BankData, splits: Sequence[Split], settings: Settings) -> list[Fold]:
    """Each split's snapshot, train data and fitted segment-popularity fallback."""
    folds = []
    for split in splits:
        snap = split_snapshot(data, split, settings)
        fit_on = train_data(snap)
        folds.append(Fold(split, snap, fit_on, fallback_factory().fit(fit_on)))
    return folds


def evaluate_fitted(
    folds: Sequence[Fold],
    models: Sequence[Recommender],
    settings: Settings,
    k: int,
    max_customers: int,
) -> Pooled:
    """Fitted models (one per fold) evaluated through the engine, pooled."""
    frames = []
    for fold, model in zip(folds, models, strict=True):
        engine = engine_for(model, fold.fallback, fold.snap, settings)
        result = evaluate_engine(engine, fold.split, k, max_customers)
        frames.append(_labelled(result.per_customer, fold.split))
    return Pooled(pl.concat(frames))


def fit_each(folds: Sequence[Fold], make_model: Callable[[], Recommender]) -> list[Recommender]:
    """A new model fitted on each fold's training part."""
    return [make_model().fit(fold.fit_on) for fold in folds]


def evaluate_simple_baselines(
    data: BankData, folds: Sequence[Fold], settings: Settings, k: int, max_customers: int
) -> dict[str, Pooled]:
    """Every simple baseline (training/baselines.py) on the folds, pooled."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for fold in folds:
        models = fit_baselines(data, fold.split, fold.snap, fold.fallback)
        results = evaluate_baselines(
            models, fold.fallback, fold.snap, fold.split, settings, k, max_customers
        )
        for name, result in results.items():
            frames.setdefault(name, []).append(_labelled(result.per_customer, fold.split))
    # a baseline missing from some fold (no recent purchases there) is left out
    return {n: Pooled(pl.concat(f)) for n, f in frames.items() if len(f) == len(folds)}


def _labelled(per_customer: pl.DataFrame, split: Split) -> pl.DataFrame:
    label = pl.lit(f"{split.label}/") + pl.col(C.customer_id)
    return per_customer.with_columns(label.alias(C.customer_id))
