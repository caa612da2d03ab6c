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
from recsys.models._next_logit import design_matrix, fit_softmax, is_newest, training_examples
from recsys.models.base import Features, Recommender
from recsys.models.features import FeatureEncoder, year_of
from recsys.models.reason import (
    CO_HELD_TEXT,
    POPULAR,
    Reason,
    ReasonCode,
    escape_template,
    strongest,
)
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


_SUM_ROWS = 4096  # customers per block of gathered weight rows in _design_sums


def profile_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """The profile columns as the encoder sees them: dates become their year (a cohort)."""
    temporal = [c for c, t in frame.schema.items() if t.is_temporal()]
    return frame.with_columns(year_of(frame.get_column(c)) for c in temporal)


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
    history_format = "dense"
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
        self._set_weights(weights, bias)

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
        self._profile_texts = [  # the reason each profile feature gives
            f"popular with customers like you ({escape_template(label)})"
            for label in encoder.labels()
        ]

    def _set_weights(self, weights: np.ndarray, bias: np.ndarray) -> None:
        self.weights, self.bias = weights.astype(np.float32), bias.astype(np.float32)
        zero = np.zeros((1, self.weights.shape[1]), dtype=np.float32)
        self._zero_and_weights = np.vstack([zero, self.weights])

    def _contexts(
        self, history: np.ndarray, features: Features | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(history, held, newest) as dense (b x n) rows, and profile feature ids (b x columns).

        held: positive history weight; newest: weight >= recent_ratio x the row's largest,
        as the training contexts are made; profile ids -1 where a column gives no feature.
        """
        dense = history
        held = dense > 0
        if self.config.recent_ratio is None:
            newest = np.zeros_like(held)
        else:
            values = np.maximum(dense, 0).astype(np.float64)
            newest = is_newest(values, values.max(axis=1, keepdims=True), self.config.recent_ratio)
        if self.encoder.size == 0:
            profile = np.empty((history.shape[0], 0), dtype=np.int64)
        elif features is None:
            raise ValueError("the sequence model scores by profile too: pass features")
        else:
            profile = self._codes(features)
        return dense, held, newest, profile

    def encode_features(self, frame: pl.DataFrame) -> np.ndarray | None:
        """Profile feature ids (b x columns, -1 = none), dates as years as profile_frame does."""
        if self.encoder.size == 0:
            return None
        return self.encoder.ids(frame, dates_as_years=True).astype(np.int32)

    def _score(
        self,
        history: np.ndarray,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray:
        dense, held, newest, profile = self._contexts(history, features)
        scores = self._design_sums(held, newest, profile) + self.bias
        if self.config.interest_weight > 0:
            scores += self.config.interest_weight * dense
        return scores

    def _design_sums(self, held: np.ndarray, newest: np.ndarray, profile: np.ndarray) -> np.ndarray:
        """Each row's sum of the W rows its design [held | newest | profile one-hots] selects.

        Summed one W row after another from zero, in ascending feature order, as a design
        row's sparse product would: a row's scores are the same floats alone and in any batch
        (a dense BLAS product need not be).
        """
        b, n = held.shape
        width = len(self.weights)
        # column 0 opens every row's run with a zero row (so a row with no feature sums to
        # zero); features are columns 1..width; the last is "no feature", dropped
        design = np.zeros((b, width + 2), dtype=bool)
        design[:, 0] = True
        design[:, 1 : n + 1], design[:, n + 1 : 2 * n + 1] = held, newest
        design[np.arange(b)[:, None], np.where(profile >= 0, profile + 2 * n + 1, width + 1)] = True
        out = np.empty((b, self.weights.shape[1]), dtype=np.float32)
        for start in range(0, b, _SUM_ROWS):  # bounds the gathered W rows' memory
            block = design[start : start + _SUM_ROWS, : width + 1]
            rows, cols = np.nonzero(block)  # row by row, ascending
            starts = np.flatnonzero(np.diff(rows, prepend=-1))
            out[start : start + len(block)] = np.add.reduceat(
                self._zero_and_weights[cols], starts, axis=0
            )
        return out

    def _explain_products(
        self,
        history: np.ndarray,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        """Held products (held and newest shares summed, citable ones) and profile features
        that raise the score, strongest first. Whether a product was "just taken" is a fact
        of the customer's state, not of the history's newest cell (which may be a view):
        recsys.engine.claims says it."""
        _, held, newest, profile = self._contexts(history, features)
        n, cols = history.shape[1], np.asarray(products, dtype=np.int64)
        items = np.flatnonzero(held[0])
        latest = newest[0, items]
        feats = profile[0][profile[0] >= 0]
        # candidates: held products (rows of W_held, plus W_last where newest), then profile
        # features; their shares of each product's score, summed in float64
        shares = self.weights[np.concatenate([items, 2 * n + feats])[:, None], cols]
        shares = shares.astype(np.float64)
        shares[: len(items)][latest] += self.weights[(n + items[latest])[:, None], cols]
        valid = shares > 0
        valid[: len(items)] &= (items[:, None] != cols) & citable[items][:, None]
        found = [
            *((ReasonCode.co_held, CO_HELD_TEXT, (item,)) for item in items.tolist()),
            *((ReasonCode.similar_profile, self._profile_texts[f], ()) for f in feats.tolist()),
        ]
        return [
            [Reason(*found[c], w) for c, w in picks] or [POPULAR]
            for picks in strongest(shares, valid, k)
        ]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"encoder": self.encoder.to_json()}, {"weights": self.weights, "bias": self.bias}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_encoder(FeatureEncoder.from_json(state["encoder"]))
        self._set_weights(np.asarray(arrays["weights"]), np.asarray(arrays["bias"]))
