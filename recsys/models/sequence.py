"""Next-product model: a conditional logit over what a customer holds, did last, and is.

    score(u, j) = b_j + held_u . W_held[:, j] + last_u . W_last[:, j] + profile_u . W_prof[:, j]
                  + interest_weight * history[u, j]

- held_u: 1 for each product with a positive history weight (order-agnostic co-occurrence);
- last_u: 1 for the customer's newest products, those whose weight is at least
  `recent_ratio` times the row's largest. With recency decay in the history (half_life_days)
  weights order a customer's events in time, so W_last learns item-to-next-item transitions
  ("customers who just took X next take Y");
- profile_u: one-hot profile columns (see features.py; date columns enter as their year);
- the last term rewards interest shown in a product not held (views, clicks, applications
  summed into its own cell). No training example can show it (an example's own cell is its
  target), so it is a blend weight to tune per data set, not a fitted one.

The first four terms are softmax logits, fitted on examples made from the training history
(see _next_logit.py): "what came next" (target = a product, context = the products older
than it; weight next_weight) and "fill in" (context = all the other products; weight
fill_weight, what a hide-one test asks and the only kind when a data set has no order).
The softmax runs over the products not in the context; W minimises the weighted
cross-entropy plus an L2 penalty (L-BFGS). A customer with no history is scored by profile
alone, so the model also serves cold starts.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.columns import Columns as C
from recsys.models import _sequence_rows as one
from recsys.models._next_logit import Contexts, design_matrix, fit_softmax, training_examples
from recsys.models.base import Recommender
from recsys.models.feature_rows import RowFeatures
from recsys.models.features import FeatureEncoder
from recsys.models.reason import Reason, ReasonCode, escape_template
from recsys.models.train_data import TrainData

logger = logging.getLogger(__name__)

_SKIP_CUSTOMER = (C.customer_id,)  # an id is no profile
MAX_PROFILE_VALUES = 1000  # text columns with more distinct values are not profile features


class SequenceConfig(BaseModel):
    """Next-product logit settings (defaults chosen on zimnat, santander and synthetic data)."""

    model_config = ConfigDict(extra="forbid")

    l2: float = Field(default=3.0, ge=0.0, description="L2 penalty on the weights (not biases)")
    recent_ratio: float | None = Field(
        default=0.99, gt=0.0, le=1.0, description="newer = weight >= ratio x other; None: no order"
    )
    next_weight: float = Field(default=1.0, ge=0.0, description="weight of what-came-next examples")
    fill_weight: float = Field(default=0.05, ge=0.0, description="weight of fill-in examples")
    interest_weight: float = Field(
        default=50.0, ge=0.0, description="logit bonus per unit of a product's own history weight"
    )
    profile_columns: list[str] | None = Field(
        default=None, description="profile columns to use; None = every usable column, [] = none"
    )
    birth_year_band: int = Field(default=10, ge=1, description="width of birth-cohort bands")
    max_iter: int = Field(default=100, ge=1, description="L-BFGS iterations")
    max_examples: int = Field(default=100_000, ge=1, description="history cells used as targets")
    seed: int = 42


def profile_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The profile columns as the encoder sees them: dates become their year (a cohort)."""
    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    return frame.with_columns(pl.col(c).dt.year().cast(pl.Int32) for c in temporal)


def _skipped_columns(frame: pl.DataFrame, c: SequenceConfig) -> tuple[str, ...]:
    """The id, and (when the columns are not chosen) text columns of near-unique values."""
    if c.profile_columns is not None:
        return _SKIP_CUSTOMER
    # A free-text or id-like column would add one weight row per value and learn nothing.
    wide = [
        col
        for col, dtype in frame.schema.items()
        if dtype == pl.String
        and col not in _SKIP_CUSTOMER
        and frame[col].n_unique() > MAX_PROFILE_VALUES
    ]
    if wide:
        logger.info("sequence: profile columns %s skipped (> %d values)", wide, MAX_PROFILE_VALUES)
    return (*_SKIP_CUSTOMER, *wide)


class SequenceRecommender(Recommender):
    """Conditional logit of the next product given holdings, newest products and profile."""

    family = "sequence"
    Config = SequenceConfig
    needs_history = False
    config: SequenceConfig

    def _fit(self, train: TrainData) -> None:
        c = self.config
        matrix = train.interactions.matrix
        profiles = self._fit_encoder(train)
        examples = training_examples(
            matrix, c.recent_ratio, c.fill_weight, c.next_weight, c.max_examples, c.seed
        )
        x = design_matrix(examples.contexts, matrix.shape[1], profiles[examples.rows])
        weights, bias, info = fit_softmax(
            x, examples.targets, examples.excluded, examples.weights, c.l2, c.max_iter
        )
        logger.info("sequence: %d examples x %d features; %s", *x.shape, info)
        self.weights, self.bias = weights.astype(np.float32), bias.astype(np.float32)

    def _fit_encoder(self, train: TrainData) -> sp.csr_matrix:
        """Fit the profile encoder; the training customers' profile rows (customers x f)."""
        c = self.config
        if c.profile_columns == []:
            self._set_encoder(FeatureEncoder(()))
            return sp.csr_matrix((train.interactions.shape[0], 0), dtype=np.float32)
        frame = profile_frame(train.customers_aligned())
        self._set_encoder(
            FeatureEncoder.fit(
                frame,
                c.profile_columns,
                skip=_skipped_columns(frame, c),
                band_width=c.birth_year_band,
            )
        )
        return self.encoder.transform(frame)

    def _set_encoder(self, encoder: FeatureEncoder) -> None:
        self.encoder = encoder
        self._rows = RowFeatures(encoder, dates_as_years=True)  # as profile_frame does
        self._labels = encoder.labels()
        self._profile_texts = [  # the reason each profile feature gives (see _profile_reasons)
            f"popular with customers like you ({escape_template(label)})" for label in self._labels
        ]

    def _design(self, history: sp.csr_matrix, features: pl.DataFrame | None) -> sp.csr_matrix:
        """The scored customers' features: [held | newest | profile]."""
        b = history.shape[0]
        if self.encoder.size == 0:
            profiles = sp.csr_matrix((b, 0), dtype=np.float32)
        elif features is None:
            raise ValueError("the sequence model scores by profile too: pass features")
        else:
            profiles = self.encoder.transform(profile_frame(features))
        contexts = Contexts.of_rows(history, self.config.recent_ratio)
        return design_matrix(contexts, history.shape[1], profiles)

    def _design_row(
        self, history: sp.csr_matrix, features: pl.DataFrame | None
    ) -> tuple[np.ndarray, int, int] | None:
        """One customer's design row as feature ids (see _sequence_rows), None if not one."""
        if history.shape[0] != 1:
            return None
        if not self.encoder.encodings:
            profile = np.zeros(0, dtype=np.int64)
        elif features is None:
            return None  # the matrix path says what is missing
        else:
            profile = self._rows.indices(features)
            if profile is None:
                return None
        return one.design_row(history, self.config.recent_ratio, profile)

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        row = self._design_row(history, features)
        if row is not None:  # a request: same floats, no sparse matrices
            ids = row[0]
            return one.row_scores(
                ids, self.weights, self.bias, history, self.config.interest_weight
            )
        scores = np.asarray(self._design(history, features) @ self.weights) + self.bias
        if self.config.interest_weight > 0:
            scores += self.config.interest_weight * history.toarray()
        return scores

    def _explain(
        self, history: sp.csr_matrix, product: int, k: int, features: pl.DataFrame | None
    ) -> list[Reason]:
        x = self._design(history, features)
        shares = x.data * self.weights[x.indices, product]
        reasons = self._product_reasons(x.indices, shares, history.shape[1], product)
        reasons += self._profile_reasons(x.indices, shares, history.shape[1])
        reasons.sort(key=lambda r: -r.weight)
        return reasons[:k] or [Reason(ReasonCode.popular, "popular with our customers")]

    def _explain_products(
        self,
        history: sp.csr_matrix,
        products: list[int],
        k_reasons: int,
        features: pl.DataFrame | None,
    ) -> list[list[Reason]]:
        """The reasons of several products, the customer's design row built once."""
        row = self._design_row(history, features)
        if row is None:
            return [self._explain(history, p, k_reasons, features) for p in products]
        ids, n_held, n_newest = row
        return one.row_reasons(
            ids,
            n_held,
            n_newest,
            self.weights,
            products,
            k_reasons,
            self._profile_texts,
            history.shape[1],
        )

    def _product_reasons(
        self, features: np.ndarray, shares: np.ndarray, n: int, product: int
    ) -> list[Reason]:
        """One reason per held product that raises the score (held and newest shares summed)."""
        in_history = features < 2 * n
        items, newest = features[in_history] % n, features[in_history] >= n
        total = np.bincount(items, weights=shares[in_history], minlength=n)
        is_newest = np.bincount(items, weights=newest, minlength=n) > 0
        # "just took" only says something when some other product is older
        is_newest &= is_newest.sum() < np.unique(items).size
        reasons = []
        for item in np.flatnonzero((total > 0) & (np.arange(n) != product)).tolist():
            text = one.JUST_TOOK if is_newest[item] else one.HOLDS
            reasons.append(Reason(ReasonCode.co_held, text, (item,), float(total[item])))
        return reasons

    def _profile_reasons(self, features: np.ndarray, shares: np.ndarray, n: int) -> list[Reason]:
        """A reason per profile feature that raises the score."""
        texts = self._profile_texts
        keep = (features >= 2 * n) & (shares > 0)
        return [
            Reason(ReasonCode.similar_profile, texts[f - 2 * n], (), float(s))
            for f, s in zip(features[keep].tolist(), shares[keep].tolist(), strict=True)
        ]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"encoder": self.encoder.to_json()}, {"weights": self.weights, "bias": self.bias}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_encoder(FeatureEncoder.from_json(state["encoder"]))
        self.weights = np.asarray(arrays["weights"], dtype=np.float32)
        self.bias = np.asarray(arrays["bias"], dtype=np.float32)
