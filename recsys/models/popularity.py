"""Popularity, global and per customer segment: the fallback for customers with no history."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.columns import Columns as C
from recsys.models.base import Features, Recommender
from recsys.models.features import lookup
from recsys.models.reason import POPULAR, Reason, ReasonCode, escape_template
from recsys.models.train_data import TrainData


class PopularityConfig(BaseModel):
    """Popularity settings."""

    model_config = ConfigDict(extra="forbid")

    by_segment: bool = True
    # A segment's rate is shrunk towards the global rate as if `shrinkage` extra customers
    # of the global mix were in it, so tiny segments do not get noisy rankings.
    shrinkage: float = Field(default=20.0, ge=0.0)
    weighting: Literal["customers", "weight"] = Field(
        default="customers", description="count customers with the product, or sum weights"
    )


class PopularityRecommender(Recommender):
    """Share of customers (in the segment, else overall) who hold/used each product."""

    family = "popularity"
    Config = PopularityConfig
    needs_history = False
    history_format = "dense"  # only its row count is read
    config: PopularityConfig

    def _fit(self, train: TrainData) -> None:
        m = train.interactions.matrix
        used = m.copy()
        if self.config.weighting == "customers":
            used.data = (used.data > 0).astype(np.float32)
        counts = np.asarray(used.sum(axis=0), dtype=np.float64).ravel()
        self._set_rates([], counts / m.shape[0], np.zeros((0, m.shape[1])))
        if self.config.by_segment:
            if train.customer_features is None or C.segment not in train.customer_features.columns:
                raise ValueError(
                    f"popularity by segment needs customer_features with column {C.segment}; "
                    "pass them or set by_segment=False"
                )
            self._fit_segments(used, train.customers_aligned()[C.segment])

    def _fit_segments(self, used: sp.csr_matrix, segment: pl.Series) -> None:
        segments = segment.drop_nulls().cast(pl.String).unique().sort().to_list()
        idx = lookup(segment, {s: i for i, s in enumerate(segments)})
        rows = np.flatnonzero(idx >= 0)
        member = sp.csr_matrix(
            (np.ones(len(rows)), (idx[rows], rows)), shape=(len(segments), used.shape[0])
        )
        counts = np.asarray((member @ used).todense())
        sizes = np.asarray(member.sum(axis=1)).ravel()
        m = self.config.shrinkage
        rates = (counts + m * self.global_rate) / np.maximum(sizes + m, 1e-12)[:, None]
        self._set_rates(segments, self.global_rate, rates)

    def _set_rates(
        self, segments: list[str], global_rate: np.ndarray, segment_rate: np.ndarray
    ) -> None:
        """The fitted rates, and what scoring reads from them."""
        self.segments, self.global_rate, self.segment_rate = segments, global_rate, segment_rate
        self._segment_index = {s: i for i, s in enumerate(segments)}
        # segment rates with the global rate as last row: row -1 is "no known segment"
        self._table = np.vstack([segment_rate, global_rate[None, :]])
        self._reasons: dict[int, list[Reason]] = {}  # segment row -> each product's reason

    def encode_features(self, frame: pl.DataFrame) -> np.ndarray | None:
        """Each row's segment (b x 1: row of segment_rate, -1 where unknown)."""
        return self._row_segments(frame, frame.height)[:, None]

    def _row_segments(self, features: Features | None, b: int) -> np.ndarray:
        """Each row's segment (row of segment_rate), -1 where unknown or not by segment."""
        if features is None or not self.segments:
            return np.full(b, -1, dtype=np.int64)
        if isinstance(features, np.ndarray):
            return features[:, 0]
        if C.segment not in features.columns:
            raise ValueError(
                f"features: column {C.segment} is missing (columns: {features.columns})"
            )
        return lookup(features.get_column(C.segment), self._segment_index)

    def _score(
        self,
        history: np.ndarray,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray:
        return self._table[self._row_segments(features, history.shape[0])]

    def _explain_products(
        self,
        history: np.ndarray,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        reasons = self._segment_reasons(int(self._row_segments(features, 1)[0]))
        return [[reasons[p]] for p in products]

    def _segment_reasons(self, seg: int) -> list[Reason]:
        """Each product's reason for customers of segment row `seg` (-1: none), made once."""
        if seg not in self._reasons:
            if seg >= 0:
                code = ReasonCode.popular_segment
                text = f"popular in your segment ({escape_template(self.segments[seg])})"
            else:
                code, text = ReasonCode.popular, POPULAR.text
            rates = self._table[seg].tolist()
            self._reasons[seg] = [Reason(code, text, (), rate) for rate in rates]
        return self._reasons[seg]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"segments": self.segments}, {
            "global_rate": self.global_rate,
            "segment_rate": self.segment_rate,
        }

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self._set_rates(list(state["segments"]), arrays["global_rate"], arrays["segment_rate"])
