"""The simple baselines every run is measured against, and the strongest of them.

A model can pass a gate by beating a weak baseline, so a run compares with four: global
popularity, segment popularity (the engine's fallback), recent popularity (share of
customers who bought each product in the RECENT_DAYS before the cutoff) and the
last-product transition table (recsys.models.transition). The gate uses the strongest.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.models.registry import build_model
from recsys.settings import Settings
from training.evaluate import Evaluation, engine_for, evaluate_engine, train_data

RECENT_DAYS = 90  # "most bought in the last 90 days", the baseline the probe found
GLOBAL, SEGMENT, RECENT, TRANSITION = (
    "popularity_global",
    "popularity_segment",
    "popularity_recent",
    "transition_table",
)
BASELINES = (GLOBAL, SEGMENT, RECENT, TRANSITION)
# baselines that are a registrable model config: (family, params)
CONFIGS: dict[str, tuple[str, dict]] = {
    GLOBAL: ("popularity", {"by_segment": False}),
    SEGMENT: ("popularity", {}),
    TRANSITION: ("transition", {}),
}
BASELINE_FAMILIES = frozenset(family for family, _ in CONFIGS.values())


def recent_snapshot(data: BankData, split: Split, snap: Snapshot) -> Snapshot | None:
    """Purchases in the RECENT_DAYS before the snapshot's date, undecayed; None if none."""
    start = snap.as_of - timedelta(days=RECENT_DAYS)
    ts = pl.col(C.timestamp)
    recent = split.train.filter(
        (pl.col(C.event) == Events.purchase) & (ts >= start) & (ts <= snap.as_of)
    )
    if recent.is_empty():
        return None
    weights = {e: 1.0 if e == Events.purchase else 0.0 for e in Events.all}
    window = BankData(data.customers, data.products, recent)
    return Snapshot.build(window, weights=weights, half_life_days=None, as_of=snap.as_of)


def fit_baselines(
    data: BankData, split: Split, snap: Snapshot, popular: Recommender | None = None
) -> dict[str, Recommender]:
    """Each baseline fitted on the split's training part (`popular`: a fitted segment one)."""
    fit_on = train_data(snap)
    models = {
        name: build_model(family, params).fit(fit_on)
        for name, (family, params) in CONFIGS.items()
        if not (name == SEGMENT and popular is not None)
    }
    if popular is not None:
        models[SEGMENT] = popular
    window = recent_snapshot(data, split, snap)
    if window is not None:
        models[RECENT] = build_model("popularity", {"by_segment": False}).fit(train_data(window))
    return {name: models[name] for name in BASELINES if name in models}


def evaluate_baselines(
    models: dict[str, Recommender],
    fallback: Recommender,
    snap: Snapshot,
    split: Split,
    settings: Settings,
    k: int,
    max_customers: int,
) -> dict[str, Evaluation]:
    """Each baseline's evaluation on the split, through the engine and its rules."""
    return {
        name: evaluate_engine(engine_for(model, fallback, snap, settings), split, k, max_customers)
        for name, model in models.items()
    }


def strongest(results: dict[str, Evaluation], metric: str) -> str:
    """The baseline with the highest mean `metric` (the first listed among equals)."""
    return max(results, key=lambda name: (results[name].metrics[metric], -BASELINES.index(name)))
