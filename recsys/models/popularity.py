"""Popularity, global and per customer segment: the fallback for customers with no history."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from recsys.columns import Columns as C
from recsys.models.base import Recommender
from recsys.models.reason import Reason, ReasonCode, escape_template
from recsys.models.train_data import TrainData

SMALL_BATCH = 64  # segments of up to this many rows are looked up in a dict, not by a query


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
    config: PopularityConfig

    def _fit(self, train: TrainData) -> None:
        m = train.interactions.matrix
        used = m.copy()
        if self.config.weighting == "customers":
            used.data = (used.data > 0).astype(np.float32)
        counts = np.asarray(used.sum(axis=0), dtype=np.float64).ravel()
        self.global_rate = counts / m.shape[0]
        self.segments: list[str] = []
        self.segment_rate = np.zeros((0, m.shape[1]))
        if self.config.by_segment:
            if train.customer_features is None or C.segment not in train.customer_features.columns:
                raise ValueError(
                    f"popularity by segment needs customer_features with column {C.segment}; "
                    "pass them or set by_segment=False"
                )
            self._fit_segments(used, train.customers_aligned()[C.segment])

    def _fit_segments(self, used: sp.csr_matrix, segment: pl.Series) -> None:
        self.segments = segment.drop_nulls().cast(pl.String).unique().sort().to_list()
        idx = self._segment_index(segment)
        rows = np.flatnonzero(idx >= 0)
        member = sp.csr_matrix(
            (np.ones(len(rows)), (idx[rows], rows)), shape=(len(self.segments), used.shape[0])
        )
        counts = np.asarray((member @ used).todense())
        sizes = np.asarray(member.sum(axis=1)).ravel()
        m = self.config.shrinkage
        self.segment_rate = (counts + m * self.global_rate) / np.maximum(sizes + m, 1e-12)[:, None]

    def _segment_index(self, segment: pl.Series) -> np.ndarray:
        if segment.dtype == pl.String and len(segment) <= SMALL_BATCH:
            # a request's one segment: a dict lookup, not a polars query (same codes)
            index = self._index()
            return np.array([index.get(v, -1) for v in segment.to_list()], dtype=np.int64)
        codes = segment.cast(pl.String).replace_strict(
            self.segments, list(range(len(self.segments))), default=-1, return_dtype=pl.Int64
        )
        return codes.fill_null(-1).to_numpy()

    def _row_segments(self, features: pl.DataFrame | None, b: int) -> np.ndarray:
        if features is None or not self.segments:
            return np.full(b, -1, dtype=np.int64)
        if C.segment not in features.columns:
            raise ValueError(
                f"features: column {C.segment} is missing (columns: {features.columns})"
            )
        return self._segment_index(features[C.segment])

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        idx = self._row_segments(features, history.shape[0])
        return self._table()[np.where(idx >= 0, idx, len(self.segments))]  # last row = global

    def _table(self) -> np.ndarray:
        """Segment rates with the global rate as last row (kept while the rates are the same)."""
        kept = self.__dict__.get("_kept_table")
        if kept is None or kept[0] is not self.segment_rate or kept[1] is not self.global_rate:
            table = np.vstack([self.segment_rate, self.global_rate[None, :]])
            kept = self._kept_table = (self.segment_rate, self.global_rate, table)
        return kept[2]

    def _index(self) -> dict[str, int]:
        """Segment -> row of segment_rate (kept while the segments are the same)."""
        kept = self.__dict__.get("_kept_index")
        if kept is None or kept[0] is not self.segments:
            kept = self._kept_index = (self.segments, {s: i for i, s in enumerate(self.segments)})
        return kept[1]

    def _explain(
        self, history: sp.csr_matrix, product: int, k: int, features: pl.DataFrame | None
    ) -> list[Reason]:
        seg = int(self._row_segments(features, 1)[0])
        if seg >= 0:
            text = f"popular in your segment ({escape_template(self.segments[seg])})"
            return [
                Reason(ReasonCode.popular_segment, text, (), float(self.segment_rate[seg, product]))
            ]
        return [
            Reason(
                ReasonCode.popular,
                "popular with our customers",
                (),
                float(self.global_rate[product]),
            )
        ]

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"segments": self.segments}, {
            "global_rate": self.global_rate,
            "segment_rate": self.segment_rate,
        }

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.segments = list(state["segments"])
        self.global_rate = arrays["global_rate"]
        self.segment_rate = arrays["segment_rate"]
