"""Last-product transitions: "customers who just took X next took Y", counted, not fitted.

    score(u, j) = sum over u's newest products i of P(j | i),
    P(j | i) = (T[i, j] + smoothing * pop_j) / (sum_j' T[i, j'] + smoothing)

T[i, j] counts the training rows where j came right after i: i is among the newest of the
products older than j (history weight below recent_ratio x j's, at least recent_ratio x the
largest of those older ones), as the sequence model reads order from recency-decayed
weights. pop_j is the share of training customers with product j, so a customer with no
history, or whose newest products were never followed by anything, gets plain popularity.
It is both a simple baseline for the gate and an order-aware family `auto` can choose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from recsys.models._next_logit import is_newest, positive_cells, training_examples
from recsys.models.base import Features, Recommender
from recsys.models.reason import POPULAR, Reason, ReasonCode, strongest
from recsys.models.train_data import TrainData

# the model's own words; what the customer reads is the claim the facts support
# (recsys.engine.claims): the newest cell may be a view, not a purchase
JUST_TOOK = "customers who just took {0} often take this next"


class TransitionConfig(BaseModel):
    """Transition-table settings."""

    model_config = ConfigDict(extra="forbid")

    recent_ratio: float = Field(
        default=0.99, gt=0.0, le=1.0, description="newer = weight >= ratio x other"
    )
    smoothing: float = Field(
        default=1.0, ge=0.0, description="pseudo-transitions drawn from popularity per product"
    )
    max_examples: int = Field(default=1_000_000, ge=1, description="history cells used as targets")
    seed: int = 42


class TransitionRecommender(Recommender):
    """Sum of P(next | newest product) over the customer's newest products; popularity else."""

    family = "transition"
    Config = TransitionConfig
    needs_history = False
    uses_features = False
    history_format = "dense"
    config: TransitionConfig

    def _fit(self, train: TrainData) -> None:
        c = self.config
        matrix = train.interactions.matrix
        n = matrix.shape[1]
        popularity = np.asarray((positive_cells(matrix) > 0).sum(axis=0), dtype=np.float64)
        popularity = popularity.ravel() / max(matrix.shape[0], 1)
        counts = np.zeros((n, n))
        try:
            ex = training_examples(matrix, c.recent_ratio, 0.0, 1.0, c.max_examples, c.seed)
        except ValueError:  # no cell has an older one: the data carry no order
            ex = None
        if ex is not None:
            last = ex.contexts.last
            rows, items = ex.contexts.row[last], ex.contexts.item[last]
            # an example with several newest sources shares one count among them
            share = 1.0 / np.bincount(rows, minlength=ex.contexts.n_rows)[rows]
            np.add.at(counts, (items, ex.targets[rows]), share)
        self._set_table(counts, popularity)

    def _set_table(self, counts: np.ndarray, popularity: np.ndarray) -> None:
        self.counts, self.popularity = counts, popularity
        a = self.config.smoothing
        totals = counts.sum(axis=1, keepdims=True) + a
        prior = np.broadcast_to(popularity[None, :], counts.shape)
        # a source never followed by anything (and no smoothing) falls back to popularity
        self._next = np.where(totals > 0, (counts + a * prior) / np.maximum(totals, 1e-12), prior)
        self._next = self._next.astype(np.float32)

    def _newest(self, history: np.ndarray) -> np.ndarray:
        values = np.maximum(history, 0).astype(np.float64)
        return is_newest(values, values.max(axis=1, keepdims=True), self.config.recent_ratio)

    def _score(
        self,
        history: np.ndarray,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray:
        newest = self._newest(history)
        scores = newest.astype(np.float32) @ self._next
        empty = ~newest.any(axis=1)
        scores[empty] = self.popularity.astype(np.float32)
        # popularity breaks ties between products no transition reaches
        return scores + 1e-6 * self.popularity.astype(np.float32)

    def _explain_products(
        self,
        history: np.ndarray,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        items = np.flatnonzero(self._newest(history)[0])
        cols = np.asarray(products, dtype=np.int64)
        shares = self.counts[items[:, None], cols].astype(np.float64)
        valid = (shares > 0) & (items[:, None] != cols[None, :]) & citable[items][:, None]
        return [
            [Reason(ReasonCode.co_held, JUST_TOOK, (int(items[i]),), w) for i, w in picks]
            or [POPULAR]
            for picks in strongest(shares, valid, k)
        ]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"counts": self.counts, "popularity": self.popularity}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_table(np.asarray(arrays["counts"]), np.asarray(arrays["popularity"]))
