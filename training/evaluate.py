"""Fit a model on a split's training part and score it on the held-out truth, rules applied."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.interactions import Interactions
from recsys.engine.engine import Engine
from recsys.engine.request import Request
from recsys.engine.snapshot import Snapshot
from recsys.evaluation.report import evaluate, evaluate_segments, per_row
from recsys.evaluation.splits import Split
from recsys.models.base import Recommender
from recsys.models.train_data import TrainData
from recsys.settings import Settings

EVAL_BATCH = 50_000  # rows scored at once: bounds the dense (batch x products) arrays


@dataclass(frozen=True)
class Evaluation:
    """Mean metrics and the per-segment breakdown of one model on one split."""

    metrics: dict[str, float]
    segments: pl.DataFrame
    # customer_id + each metric per test customer (NaN: nothing to find), for the gate's
    # paired bootstrap; empty when not kept
    per_customer: pl.DataFrame = field(default_factory=pl.DataFrame)

    def values(self, metric: str) -> pl.DataFrame:
        """customer_id and `metric` per test customer, sorted by customer."""
        if metric not in self.per_customer.columns:
            raise ValueError(f"no per-customer {metric!r}; kept: {self.per_customer.columns}")
        return self.per_customer.select(C.customer_id, metric).sort(C.customer_id)


def split_snapshot(data: BankData, split: Split, settings: Settings) -> Snapshot:
    """The customer state a model may learn from: the split's training events only."""
    as_of = split.cutoff or _last_timestamp(split.train)
    train = BankData(data.customers, data.products, split.train)
    w = settings.weights
    return Snapshot.build(train, weights=w.as_dict(), half_life_days=w.half_life_days, as_of=as_of)


def train_data(snapshot: Snapshot) -> TrainData:
    """What models fit on: the snapshot's history with both feature frames."""
    inter = Interactions(snapshot.history, snapshot.customer_map, snapshot.product_map)
    return TrainData(inter, snapshot.customers, snapshot.products)


def engine_for(
    model: Recommender, fallback: Recommender, snap: Snapshot, settings: Settings
) -> Engine:
    """An engine over fitted models with the configured channels."""
    return Engine(
        model,
        fallback,
        snap,
        excluded_categories={c: v.excluded_categories for c, v in settings.channels.items()},
        purchase_weight=settings.weights.purchase,
    )


def evaluate_engine(
    engine: Engine, split: Split, k: int, max_customers: int, seed: int = 0
) -> Evaluation:
    """Top-k for the split's test customers (sampled to max_customers), against the truth."""
    customers = split.test_customers
    if customers.len() > max_customers:
        customers = customers.sample(max_customers, seed=seed).sort()
    truth_frame = split.test.filter(pl.col(C.customer_id).is_in(customers.implode()))
    at = split.cutoff or engine.snapshot.as_of
    wanted = customers.to_list()
    ids, segments = [], []
    for start in range(0, len(wanted), EVAL_BATCH):
        chunk = wanted[start : start + EVAL_BATCH]
        ids.append(engine.answer(Request(chunk, k, at, reasons=0)).ids)
        segments.append(
            engine.profiles.take(
                engine.snapshot.customer_map.to_internal(chunk, strict=False)
            ).segment
        )
    rec = np.vstack(ids)
    truth = _truth_sets(customers, truth_frame, engine)
    n = len(engine.catalog)
    metrics = evaluate(rec, truth, k, n_items=n)
    segs = np.concatenate(segments)
    rows = per_row(rec, truth, k)
    rows.pop("n_relevant")
    per_customer = pl.DataFrame({C.customer_id: customers, **rows})
    return Evaluation(metrics, evaluate_segments(rec, truth, k, segs, n_items=n), per_customer)


def fit_and_evaluate(
    make_model: Callable[[], Recommender],
    make_fallback: Callable[[], Recommender],
    snap: Snapshot,
    split: Split,
    settings: Settings,
    *,
    k: int,
    max_customers: int,
) -> tuple[Engine, Evaluation]:
    """Fit model and fallback on the snapshot, then evaluate the engine on the split."""
    data = train_data(snap)
    engine = engine_for(make_model().fit(data), make_fallback().fit(data), snap, settings)
    return engine, evaluate_engine(engine, split, k, max_customers)


def _truth_sets(customers: pl.Series, truth: pl.DataFrame, engine: Engine) -> list[set[int]]:
    """Per test customer (in order), the set of internal product ids to find."""
    cols = engine.snapshot.product_map.to_internal_series(truth[C.product_id])
    grouped = truth.with_columns(cols.alias("_p")).group_by(C.customer_id).agg(pl.col("_p"))
    ordered = customers.to_frame().join(
        grouped, on=C.customer_id, how="left", maintain_order="left"
    )
    return [set(p or ()) for p in ordered["_p"].to_list()]


def _last_timestamp(events: pl.DataFrame) -> datetime:
    return events[C.timestamp].max()
