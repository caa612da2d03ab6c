"""Implicit-feedback ALS (implicit.cpu.als) whose scores fold in each customer's current history.

Stored customer factors are not used at scoring time: every row is solved exactly from its
CURRENT history against the item factors (see `_foldin`), so a purchase recorded a second
ago changes the suggestions without retraining, unknown customers with some history are
served the same way, and the score depends only on the state, never on who asked. An empty
history folds in to the zero vector: all-zero scores, i.e. "no signal" (route such
customers to popularity or LightFM; `needs_history` says so).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from pydantic import BaseModel, ConfigDict, Field

from recsys.models._foldin import FoldInReasons, LeastSquaresFoldIn
from recsys.models.base import Recommender
from recsys.models.train_data import TrainData

logger = logging.getLogger(__name__)


class ALSConfig(BaseModel):
    """ALS settings; defaults sized for catalogs of tens of products."""

    model_config = ConfigDict(extra="forbid")

    # Few products: factors well below the catalog size, and strong regularization (it acts
    # like a nuclear-norm penalty that must grow with the data; too strong collapses every
    # factor to 0, which fit() logs). Tune both per data set.
    factors: int = Field(default=8, ge=1)
    regularization: float = Field(default=100.0, gt=0.0)
    alpha: float = Field(default=10.0, gt=0.0, description="confidence = alpha * weight")
    iterations: int = Field(default=20, ge=1)
    seed: int = 42
    # ALS solves rows independently, so threads do not change the result.
    num_threads: int = Field(default=1, ge=0)


class ALSRecommender(FoldInReasons, Recommender):
    """score(u) = Y x_u with x_u folded in from the customer's current history."""

    family = "als"
    Config = ALSConfig
    config: ALSConfig
    uses_features = False

    def _fit(self, train: TrainData) -> None:
        c = self.config
        model = AlternatingLeastSquares(
            factors=c.factors,
            regularization=c.regularization,
            alpha=c.alpha,
            iterations=c.iterations,
            use_cg=False,  # exact Cholesky: same solution the fold-in computes
            num_threads=c.num_threads,
            random_state=c.seed,
        )
        model.fit(train.interactions.matrix, show_progress=False)
        factors = np.asarray(model.item_factors, dtype=np.float32)
        if np.abs(factors).max(initial=0.0) < 1e-6:
            logger.warning(
                "ALS item factors collapsed to ~0 (regularization %s is too strong for this "
                "data): every score will be 0",
                c.regularization,
            )
        self._set_item_factors(factors)

    def _set_item_factors(self, item_factors: np.ndarray) -> None:
        if not np.isfinite(item_factors).all():
            raise ValueError("ALS item factors are not finite; lower alpha or raise regularization")
        self.item_factors = item_factors
        self._foldin = LeastSquaresFoldIn(
            item_factors, self.config.regularization, self.config.alpha
        )

    def user_factors(self, history: sp.csr_matrix) -> np.ndarray:
        """Folded-in customer factors (b x factors) for a batch of current histories."""
        history, _ = self._check_batch(history, None, None)
        return self._foldin.users(history).astype(np.float32)

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        return self._foldin.users(history) @ self._foldin.y.T

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"item_factors": self.item_factors}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_item_factors(arrays["item_factors"])
