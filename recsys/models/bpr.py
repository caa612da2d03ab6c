"""Bayesian Personalized Ranking (implicit.cpu.bpr) with least-squares fold-in at scoring time.

BPR learns item factors y_j and item biases b_j (implicit keeps the bias as the last factor
column, with the matching customer column fixed at 1). Customer factors are not kept:
every row is projected from its CURRENT history onto the item factors with the same
confidence-weighted ridge solve as ALS fold-in (see `_foldin`): the x_u whose dot products
best separate held (target 1, confidence alpha * weight) from other products (target 0,
confidence 1). Score = y_j . x_u + b_j. So new purchases and unknown customers are scored
without retraining, and an empty history scores the item biases (a popularity prior).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking
from pydantic import BaseModel, ConfigDict, Field

from recsys.models._foldin import FoldInReasons, LeastSquaresFoldIn
from recsys.models.base import Recommender
from recsys.models.train_data import TrainData


class BPRConfig(BaseModel):
    """BPR settings; defaults sized for catalogs of tens of products."""

    model_config = ConfigDict(extra="forbid")

    factors: int = Field(default=16, ge=1)
    learning_rate: float = Field(default=0.05, gt=0.0)
    regularization: float = Field(default=0.01, ge=0.0)
    iterations: int = Field(default=100, ge=1)
    foldin_regularization: float = Field(default=1.0, gt=0.0)
    foldin_alpha: float = Field(default=10.0, gt=0.0)
    seed: int = 42
    # BPR's SGD is Hogwild across threads: only num_threads=1 is deterministic.
    num_threads: int = Field(default=1, ge=0)


class BPRRecommender(FoldInReasons, Recommender):
    """score(u, j) = y_j . x_u + b_j, x_u projected from the current history."""

    family = "bpr"
    Config = BPRConfig
    config: BPRConfig
    uses_features = False

    def _fit(self, train: TrainData) -> None:
        c = self.config
        model = BayesianPersonalizedRanking(
            factors=c.factors,
            learning_rate=c.learning_rate,
            regularization=c.regularization,
            iterations=c.iterations,
            num_threads=c.num_threads,
            random_state=c.seed,
        )
        model.fit(train.interactions.matrix, show_progress=False)
        # implicit 0.7 stores [factors..., bias] per item and [factors..., 1] per customer
        full = np.asarray(model.item_factors, dtype=np.float32)
        self._set_factors(full[:, :-1].copy(), full[:, -1].copy())

    def _set_factors(self, item_factors: np.ndarray, item_bias: np.ndarray) -> None:
        if not (np.isfinite(item_factors).all() and np.isfinite(item_bias).all()):
            raise ValueError("BPR item factors are not finite; lower the learning rate")
        self.item_factors, self.item_bias = item_factors, item_bias
        c = self.config
        self._foldin = LeastSquaresFoldIn(item_factors, c.foldin_regularization, c.foldin_alpha)

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        return self._foldin.users(history) @ self._foldin.y.T + self.item_bias

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"item_factors": self.item_factors, "item_bias": self.item_bias}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_factors(arrays["item_factors"], arrays["item_bias"])
