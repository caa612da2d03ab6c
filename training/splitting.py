"""Choose the holdout a training run is judged on, from the configured split."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.evaluation.splits import Split, hide_one_split, time_split
from training.config import TrainConfig


def make_split(data: BankData, config: TrainConfig) -> Split:
    """Time split ending at the last event, or hide-one for holdings-only data."""
    cfg = config.split
    if cfg.kind == "hide_one":
        purchases = data.events.filter(pl.col(C.event) == Events.purchase)
        eligible = (
            purchases.select(C.customer_id, C.product_id)
            .unique()
            .group_by(C.customer_id)
            .len()
            .filter(pl.col("len") >= cfg.min_held)
            .height
        )
        n = None if cfg.hide_customers >= eligible else cfg.hide_customers
        return hide_one_split(data.events, n, min_held=cfg.min_held, seed=cfg.seed)
    # The window [cutoff, cutoff + window) must include the very last event.
    last = data.events[C.timestamp].max() + timedelta(microseconds=1)
    cutoff = last - timedelta(days=cfg.window_days)
    return time_split(data.events, cutoff, cfg.window_days, products=data.products)


def split_fingerprint(data_fingerprint: str, config: TrainConfig) -> str:
    """Identifies the holdout: same data + same split + same k = comparable metrics."""
    spec = {
        "data": data_fingerprint,
        "split": config.split.model_dump(),
        "k": config.evaluation.k,
        "max_eval_customers": config.evaluation.max_eval_customers,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
