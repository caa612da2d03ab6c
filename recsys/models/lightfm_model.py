"""LightFM hybrid: customer profile (+ current holdings) features x product features.

lightfm is needed only to fit. The model keeps the customer-feature embeddings and biases
and the products' representations (item features @ item embeddings), so scoring is numpy:
    score(u, j) = (f_u @ E_user) . r_j + f_u @ b_user + b_j
with f_u the customer's features, normalised to sum 1: one-hot profile values, plus (with
`history_features`, the default) the customer's CURRENT interaction weights, one feature
per product. A customer is thus their profile and holdings, not an id: a new customer
with only a profile is scored like anyone else (cold start), and a purchase recorded now
changes the next suggestion without retraining. Customer identity features are optional
and off by default, because they soak up what the profile features should learn.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.columns import Columns as C
from recsys.models.base import Features, Recommender
from recsys.models.features import FeatureEncoder
from recsys.models.reason import (
    CO_HELD_TEXT,
    POPULAR,
    Reason,
    ReasonCode,
    escape_template,
    strongest,
)
from recsys.models.train_data import TrainData

# Never features: the key, and dates (tenure would need a reference date).
_SKIP_CUSTOMER = (C.customer_id, C.joined_at)


class LightFMConfig(BaseModel):
    """LightFM settings; defaults sized for catalogs of tens of products."""

    model_config = ConfigDict(extra="forbid")

    no_components: int = Field(default=16, ge=1)
    loss: Literal["warp", "bpr", "logistic"] = "warp"
    learning_rate: float = Field(default=0.05, gt=0.0)
    item_alpha: float = Field(default=1e-6, ge=0.0)
    user_alpha: float = Field(default=1e-6, ge=0.0)
    max_sampled: int = Field(default=10, ge=1)
    epochs: int = Field(default=20, ge=1)
    use_weights: bool = Field(default=True, description="interaction weights as sample weights")
    customer_columns: list[str] | None = Field(
        default=None, description="profile columns to use; None = every usable column"
    )
    product_columns: list[str] = Field(default_factory=lambda: [C.category, C.risk_rating])
    birth_year_band: int = Field(default=10, ge=1, description="width of birth-cohort bands")
    history_features: bool = Field(default=True, description="current holdings as features")
    item_identity: bool = True
    user_identity: bool = False
    seed: int = 42
    num_threads: int = Field(default=1, ge=1, description="> 1 is not deterministic")


def fit_lightfm(
    c: LightFMConfig, matrix: sp.csr_matrix, users: sp.csr_matrix, items: sp.csr_matrix
) -> Any:
    """A fitted lightfm.LightFM (positives = nonzero entries, weights as sample weights)."""
    from lightfm import LightFM  # fit-time only; scoring needs numpy alone

    m = matrix.tocoo()
    positive = sp.coo_matrix((np.ones_like(m.data), (m.row, m.col)), shape=m.shape)
    model = LightFM(
        no_components=c.no_components,
        loss=c.loss,
        learning_rate=c.learning_rate,
        item_alpha=c.item_alpha,
        user_alpha=c.user_alpha,
        max_sampled=c.max_sampled,
        random_state=np.random.RandomState(c.seed),
    )
    weights = m.astype(np.float32) if c.use_weights else None
    model.fit(
        positive, users, items, sample_weight=weights, epochs=c.epochs, num_threads=c.num_threads
    )
    return model


class LightFMRecommender(Recommender):
    """Hybrid by features: works for customers with a profile and no history."""

    family = "lightfm"
    Config = LightFMConfig
    needs_history = False
    config: LightFMConfig

    def _fit(self, train: TrainData) -> None:
        c = self.config
        customers = train.customers_aligned()
        self._set_encoder(
            FeatureEncoder.fit(
                customers, c.customer_columns, skip=_SKIP_CUSTOMER, band_width=c.birth_year_band
            )
        )
        self.n_customers = customers.height
        matrix = train.interactions.matrix
        users = self.user_features(customers, matrix, np.arange(customers.height))
        items = self._item_matrix(train)
        model = fit_lightfm(c, matrix, users, items)
        self._set_arrays(
            model.user_embeddings,
            model.user_biases,
            items @ model.item_embeddings,
            items @ model.item_biases,
        )

    def _set_encoder(self, encoder: FeatureEncoder) -> None:
        self.customer_encoder = encoder
        self._profile_texts = [  # the reason each profile feature gives
            f"popular with customers like you ({escape_template(label)})"
            for label in encoder.labels()
        ]

    def _item_matrix(self, train: TrainData) -> sp.csr_matrix:
        c = self.config
        n = train.interactions.shape[1]
        parts = [sp.identity(n, dtype=np.float32, format="csr")] if c.item_identity else []
        if c.product_columns:
            products = train.products_aligned()
            enc = FeatureEncoder.fit(products, c.product_columns, skip=(), band_width=1)
            parts.append(enc.transform(products))
        if not parts:
            raise ValueError("LightFM needs item_identity or product_columns")
        return normalize_rows(sp.hstack(parts, format="csr"))

    def encode_features(self, frame: pl.DataFrame) -> np.ndarray | None:
        """Profile feature ids (b x columns, -1 = none)."""
        return self.customer_encoder.ids(frame).astype(np.int32)

    def user_features(
        self, profiles: Features, history: sp.csr_matrix, rows: np.ndarray | None = None
    ) -> sp.csr_matrix:
        """Normalised customer features: [profile one-hots | history | identity] per config."""
        b, width = len(profiles), self.customer_encoder.size
        parts, offsets = [_indicator_cells(self._codes(profiles))], [0]
        if self.config.history_features:
            held_rows = np.repeat(np.arange(b), np.diff(history.indptr))
            parts.append((held_rows, history.indices, history.data.astype(np.float32)))
            offsets.append(width)
            width += history.shape[1]
        if self.config.user_identity:
            identity = self._identity_rows(b, rows)
            known = np.flatnonzero(identity >= 0)
            parts.append((known, identity[known], np.ones(len(known), np.float32)))
            offsets.append(width)
            width += self.n_customers
        return normalized_csr((b, width), *_side_by_side(parts, offsets))

    def _identity_rows(self, b: int, rows: np.ndarray | None) -> np.ndarray:
        """Known customers' training rows (-1 = unknown: no identity feature), checked."""
        rows = np.full(b, -1, np.int64) if rows is None else rows
        if (rows >= self.n_customers).any():
            bad = rows[rows >= self.n_customers][:5].tolist()
            raise ValueError(f"customer_rows {bad} are beyond the {self.n_customers} fitted rows")
        return rows

    def _set_arrays(self, *arrays: np.ndarray) -> None:
        """user_embeddings, user_biases, item_repr, item_bias (checked finite, float32)."""
        arrays = tuple(np.asarray(a, dtype=np.float32) for a in arrays)
        if not all(np.isfinite(a).all() for a in arrays):
            raise ValueError("LightFM parameters are not finite; lower the learning rate")
        self.user_embeddings, self.user_biases, self.item_repr, self.item_bias = arrays
        # each customer feature's share of each product's score: csr @ it adds a row's
        # features one after another, so a row scores alike alone and in any batch
        # (features x products: with user_identity, a row per fitted customer)
        self._projected = self.user_embeddings @ self.item_repr.T

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray:
        if features is None:
            raise ValueError("LightFM scores by profile: pass features (one row per customer)")
        f = self.user_features(features, history, customer_rows)
        return f @ self._projected + self.item_bias + (f @ self.user_biases)[:, None]

    def _explain_products(
        self,
        history: sp.csr_matrix,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        if features is None:
            raise ValueError("LightFM explains by profile: pass features (one row)")
        f = self.user_features(features, history)  # identity is no reason a customer can read
        cols = np.asarray(products, dtype=np.int64)
        shares = f.data[:, None] * self._projected[f.indices[:, None], cols]
        n_profile = self.customer_encoder.size
        valid = (shares > 0) & (f.indices[:, None] != n_profile + cols[None, :])
        # a history feature names its product: only a citable one may be a reason
        product = f.indices - n_profile
        history_feature = (product >= 0) & (product < len(citable))
        valid[history_feature] &= citable[product[history_feature]][:, None]
        found = [self._reason(int(i)) for i in f.indices]
        return [
            [Reason(*found[c], w) for c, w in picks] or [POPULAR]
            for picks in strongest(shares, valid, k)
        ]

    def _reason(self, feature: int) -> tuple[str, str, tuple[int, ...]]:
        """(code, text, related products) of the reason an active customer feature gives."""
        n_profile = self.customer_encoder.size
        if feature >= n_profile:  # a history feature: the customer holds that product
            return ReasonCode.co_held, CO_HELD_TEXT, (feature - n_profile,)
        return ReasonCode.similar_profile, self._profile_texts[feature], ()

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {
            "customer_encoder": self.customer_encoder.to_json(),
            "n_customers": self.n_customers,
        }
        arrays = {
            "user_embeddings": self.user_embeddings,
            "user_biases": self.user_biases,
            "item_repr": self.item_repr,
            "item_bias": self.item_bias,
        }
        return state, arrays

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_encoder(FeatureEncoder.from_json(state["customer_encoder"]))
        self.n_customers = int(state["n_customers"])
        names = ("user_embeddings", "user_biases", "item_repr", "item_bias")
        self._set_arrays(*(arrays[n] for n in names))


def _indicator_cells(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, 1.0) cells of FeatureEncoder.ids' valid entries, row by row."""
    rows, cols = np.nonzero(ids >= 0)
    return rows, ids[rows, cols], np.ones(len(rows), np.float32)


def _side_by_side(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], offsets: list[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) cells of parts placed side by side, row by row (parts row-sorted)."""
    rows = np.concatenate([p[0] for p in parts])
    order = np.argsort(rows, kind="stable")  # a row's cells in part order: columns ascend
    cols = np.concatenate([p[1] + o for p, o in zip(parts, offsets, strict=True)])
    data = np.concatenate([p[2] for p in parts])
    return rows[order], cols[order], data[order]


def normalize_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows, and rows summing to 0 or less, become all zeros)."""
    m = m.tocsr()
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    return normalized_csr(m.shape, rows, m.indices, m.data)


def normalized_csr(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, data: np.ndarray
) -> sp.csr_matrix:
    """float32 CSR of (row, column, value) cells, rows ascending, each row scaled to sum 1."""
    sums = np.bincount(rows, weights=data, minlength=shape[0])
    scale = np.where(sums > 0, 1.0 / np.maximum(sums, 1e-30), 0.0)
    indptr = np.zeros(shape[0] + 1, dtype=np.int32)  # int32: scipy would copy int64 down
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    scaled = (data * scale[rows]).astype(np.float32)
    return sp.csr_matrix((scaled, cols.astype(np.int32), indptr), shape=shape)
