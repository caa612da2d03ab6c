"""Next-product model: a conditional logit over what a customer holds, did last, and is.

    score(u, j) = b_j + held_u . W_held[:, j] + last_u . W_last[:, j] + profile_u . W_prof[:, j]

- held_u: 1 for each product with a positive history weight (order-agnostic co-occurrence);
- last_u: 1 for the customer's most recent products, those whose weight is at least
  `recent_ratio` times the row's largest. With recency decay in the history (half_life_days)
  the largest weights are the newest events, so W_last learns item-to-next-item transitions
  ("customers who just took X next take Y"); without decay it marks the strongest signals;
- profile_u: one-hot profile columns (see features.py; date columns enter as their year).

Scores are softmax logits: per customer they rank products like the fitted probabilities.
Fitting treats every positive cell (u, t) of the training history as one example "t, given
the rest of u's history": the softmax runs over the products not in the rest, and W minimises
the weighted cross-entropy plus an L2 penalty (L-BFGS). Targets among the customer's latest
products weigh 1 and older ones `earlier_weight`: 1 learns to fill in any missing product
(hide-one), less leans towards what comes next. A customer with no history is scored by
profile alone, so this model also serves cold starts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.columns import Columns as C
from recsys.models._next_logit import Contexts, design_matrix, fit_softmax, training_examples
from recsys.models.base import Recommender
from recsys.models.features import FeatureEncoder
from recsys.models.reason import Reason, ReasonCode, escape_template
from recsys.models.train_data import TrainData

logger = logging.getLogger(__name__)

_SKIP_CUSTOMER = (C.customer_id,)  # an id is no profile


class SequenceConfig(BaseModel):
    """Next-product logit settings."""

    model_config = ConfigDict(extra="forbid")

    l2: float = Field(default=1.0, ge=0.0, description="L2 penalty on the weights (not biases)")
    recent_ratio: float | None = Field(
        default=0.99, gt=0.0, le=1.0, description="'last' = weight >= ratio x row max; None: off"
    )
    fill_weight: float = Field(default=1.0, ge=0.0, description="weight of fill-in examples")
    next_weight: float = Field(default=1.0, ge=0.0, description="weight of what-came-next examples")
    interest_weight: float = Field(
        default=0.0, ge=0.0, description="logit bonus per unit of a product's own history weight"
    )
    profile_columns: list[str] | None = Field(
        default=None, description="profile columns to use; None = every usable column, [] = none"
    )
    birth_year_band: int = Field(default=10, ge=1, description="width of birth-cohort bands")
    max_iter: int = Field(default=100, ge=1, description="L-BFGS iterations")
    max_examples: int = Field(default=100_000, ge=1, description="history cells sampled as targets")
    seed: int = 42


def profile_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The profile columns as the encoder sees them: dates become their year (a cohort)."""
    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    return frame.with_columns(pl.col(c).dt.year().cast(pl.Int32) for c in temporal)


class SequenceRecommender(Recommender):
    """Conditional logit of the next product given holdings, latest products and profile."""

    family = "sequence"
    Config = SequenceConfig
    needs_history = False
    config: SequenceConfig

    def _fit(self, train: TrainData) -> None:
        c = self.config
        matrix = train.interactions.matrix
        n = matrix.shape[1]
        profiles = self._fit_encoder(train)
        examples = training_examples(
            matrix, c.recent_ratio, c.fill_weight, c.next_weight, c.max_examples, c.seed
        )
        x = design_matrix(examples.contexts, n, self._uses_last, profiles[examples.rows])
        weights, bias, info = fit_softmax(
            x, examples.targets, examples.excluded, examples.weights, n, c.l2, c.max_iter
        )
        logger.info("sequence: %d examples, %d features; %s", len(examples.targets), x.shape[1], info)
        self.weights, self.bias = weights.astype(np.float32), bias.astype(np.float32)

    @property
    def _uses_last(self) -> bool:
        return self.config.recent_ratio is not None

    def _fit_encoder(self, train: TrainData) -> sp.csr_matrix:
        """Fit the profile encoder; the training customers' profile rows (customers x f)."""
        c = self.config
        n_rows = train.interactions.shape[0]
        if c.profile_columns == []:
            self.encoder = FeatureEncoder(())
            return sp.csr_matrix((n_rows, 0), dtype=np.float32)
        frame = profile_frame(train.customers_aligned())
        self.encoder = FeatureEncoder.fit(
            frame, c.profile_columns, skip=_SKIP_CUSTOMER, band_width=c.birth_year_band
        )
        return self.encoder.transform(frame)

    def _profiles(self, features: pl.DataFrame | None, b: int) -> sp.csr_matrix:
        if self.encoder.size == 0:
            return sp.csr_matrix((b, 0), dtype=np.float32)
        if features is None:
            raise ValueError("the sequence model scores by profile too: pass features")
        return self.encoder.transform(profile_frame(features))

    def _design(self, history: sp.csr_matrix, features: pl.DataFrame | None) -> sp.csr_matrix:
        n = history.shape[1]
        contexts = Contexts.of_rows(history, self.config.recent_ratio)
        return design_matrix(contexts, n, self._uses_last, self._profiles(features, history.shape[0]))

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        scores = np.asarray(self._design(history, features) @ self.weights) + self.bias
        if self.config.interest_weight > 0:
            # Interest in a product not held (views, clicks, applications) is not in any
            # training example, whose own cell is the target; the bonus is a tuned blend.
            scores += self.config.interest_weight * history.toarray()
        return scores

    def _explain(
        self, history: sp.csr_matrix, product: int, k: int, features: pl.DataFrame | None
    ) -> list[Reason]:
        x = self._design(history, features)
        shares = x.data * self.weights[x.indices, product]
        n = history.shape[1]
        held: dict[int, tuple[float, bool]] = {}
        reasons = []
        labels = self.encoder.labels()
        for feature, share in zip(x.indices.tolist(), shares.tolist(), strict=True):
            if feature < 2 * n:  # a held or a last product: one reason per product
                item, last = feature % n, feature >= n
                total, was_last = held.get(item, (0.0, False))
                held[item] = (total + share, was_last or last)
            elif share > 0:
                text = f"popular with customers like you ({escape_template(labels[feature - 2 * n])})"
                reasons.append(Reason(ReasonCode.similar_profile, text, (), share))
        for item, (share, last) in held.items():
            if share > 0 and item != product:
                text = (
                    "customers who just took {0} often take this next"
                    if last
                    else "customers who hold {0} often add this"
                )
                reasons.append(Reason(ReasonCode.co_held, text, (item,), share))
        reasons.sort(key=lambda r: -r.weight)
        return reasons[:k] or [Reason(ReasonCode.popular, "popular with our customers")]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"encoder": self.encoder.to_json()}, {"weights": self.weights, "bias": self.bias}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.encoder = FeatureEncoder.from_json(state["encoder"])
        self.weights = arrays["weights"].astype(np.float32)
        self.bias = arrays["bias"].astype(np.float32)
