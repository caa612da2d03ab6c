"""The "unseen products" protocol: how well products with no history are ranked for the
customers who took them.

Two ways to get products without history: hold some out entirely (every event of theirs
leaves the training period), or take those launched in the holdout (no event before the
cutoff). Either way each test customer who bought one of them in the window has the unseen
products ranked by a scorer, and the ranks are judged against what they bought: AUC (ties
count half), hit rate at 1 and NDCG over the unseen set. A flat prior, one score for every
product, is the yardstick: AUC 0.5, and the other two at their expected values under random
order (averaged over tie-breaks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events

TIE_BREAKS: Final = 64  # random orders a tied ranking's hit rate and NDCG are averaged over


@dataclass(frozen=True)
class UnseenSplit:
    """Training events without the unseen products, and who bought which of them after."""

    train: pl.DataFrame
    test: pl.DataFrame  # customer_id, product_id: unique purchases of unseen products
    unseen: tuple[str, ...]
    cutoff: datetime


def held_out_split(
    events: pl.DataFrame, unseen: Sequence[str], cutoff: datetime, window_days: int
) -> UnseenSplit:
    """Train: events before `cutoff` of every other product; test: purchases of `unseen` in
    [cutoff, cutoff + window)."""
    unseen = tuple(unseen)
    if not unseen:
        raise ValueError("no products to hold out")
    ts, product = pl.col(C.timestamp), pl.col(C.product_id)
    train = events.filter((ts < cutoff) & ~product.is_in(list(unseen)))
    end = cutoff + timedelta(days=window_days)
    test = (
        events.filter(
            (ts >= cutoff)
            & (ts < end)
            & product.is_in(list(unseen))
            & (pl.col(C.event) == Events.purchase)
        )
        .select(C.customer_id, C.product_id)
        .unique()
        .sort(C.customer_id, C.product_id)
    )
    if test.is_empty():
        raise ValueError(f"no purchases of {list(unseen)} in [{cutoff}, {end})")
    return UnseenSplit(train, test, unseen, cutoff)


def launched_split(events: pl.DataFrame, cutoff: datetime, window_days: int) -> UnseenSplit:
    """The products with no event before `cutoff` and a purchase in the window."""
    ts = pl.col(C.timestamp)
    before = events.filter(ts < cutoff)[C.product_id].unique()
    end = cutoff + timedelta(days=window_days)
    bought = events.filter((ts >= cutoff) & (ts < end) & (pl.col(C.event) == Events.purchase))
    launched = bought.filter(~pl.col(C.product_id).is_in(before.implode()))[C.product_id]
    found = sorted(set(launched.to_list()))
    if not found:
        raise ValueError(f"no product launched in [{cutoff}, {end}) was bought there")
    return held_out_split(events, found, cutoff, window_days)


def truth_rows(split: UnseenSplit) -> tuple[list[str], np.ndarray]:
    """Test customers (sorted) and their (customers, unseen) bool matrix of purchases."""
    customers = sorted(set(split.test[C.customer_id].to_list()))
    row = {c: i for i, c in enumerate(customers)}
    col = {p: j for j, p in enumerate(split.unseen)}
    out = np.zeros((len(customers), len(split.unseen)), dtype=bool)
    for c, p in split.test.iter_rows():
        out[row[c], col[p]] = True
    return customers, out


def ranking_metrics(
    scores: np.ndarray, bought: np.ndarray, allowed: np.ndarray | None = None, seed: int = 0
) -> dict[str, float]:
    """Mean AUC, hit rate at 1 and NDCG of each row's scores against its purchases, among
    the products the hard rules `allowed` (rows without both a purchase and another
    candidate have no AUC and are left out of it)."""
    allowed = np.ones(bought.shape, dtype=bool) if allowed is None else allowed | bought
    scores = np.where(allowed, np.asarray(scores, dtype=np.float64), -np.inf)
    pos, neg = bought, ~bought & allowed
    greater = (scores[:, :, None] > scores[:, None, :]) & pos[:, :, None] & neg[:, None, :]
    ties = (scores[:, :, None] == scores[:, None, :]) & pos[:, :, None] & neg[:, None, :]
    pairs = pos.sum(1) * neg.sum(1)
    judged = pairs > 0
    auc = (greater.sum((1, 2)) + 0.5 * ties.sum((1, 2)))[judged] / pairs[judged]
    rng = np.random.default_rng(seed)
    hits, ndcgs = [], []
    discount = 1.0 / np.log2(np.arange(2, scores.shape[1] + 2))
    ideal = np.cumsum(discount)[np.maximum(bought.sum(1) - 1, 0)]
    for _ in range(TIE_BREAKS):
        finite = np.where(np.isfinite(scores), scores, 0.0)
        noisy = scores + rng.random(scores.shape) * 1e-9 * (1 + np.abs(finite))
        order = np.argsort(-noisy, axis=1, kind="stable")
        ranked = np.take_along_axis(bought, order, axis=1)
        hits.append(ranked[:, 0].mean())
        ndcgs.append(((ranked * discount).sum(1) / ideal).mean())
    return {
        "auc": float(auc.mean()) if auc.size else float("nan"),
        "hit_at_1": float(np.mean(hits)),
        "ndcg": float(np.mean(ndcgs)),
        "customers": float(len(bought)),
    }


def customer_auc(scores: np.ndarray, bought: np.ndarray, allowed: np.ndarray) -> float:
    """Mean over products (columns) of the AUC of buyers against the other allowed customers:
    whether the scores find who takes a new product (ties count half; flat = 0.5)."""
    from scipy.stats import rankdata

    aucs = []
    for j in range(bought.shape[1]):
        pool = allowed[:, j] | bought[:, j]
        y, s = bought[pool, j], scores[pool, j]
        pos, neg = int(y.sum()), int((~y).sum())
        if pos and neg:
            ranks = rankdata(s)
            aucs.append((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))
    return float(np.mean(aucs)) if aucs else float("nan")


def flat_metrics(
    bought: np.ndarray, allowed: np.ndarray | None = None, seed: int = 0
) -> dict[str, float]:
    """The flat prior's figures: every allowed unseen product scored alike."""
    return ranking_metrics(np.zeros(bought.shape), bought, allowed, seed)
