"""Reasons for all suggested products of one customer at once, equal to `model.explain` per item.

`Recommender.explain` answers one (customer, product) pair and validates its input each time;
a request explains k products of one already validated state. For the families whose reasons
are cheap to share, the work is done once per model or once per request:

- item-kNN: the similarity matrix kept dense (a catalog has tens to a few hundred products),
  so the shares of every suggested product come from one small array gather;
- popularity: the reasons depend only on the customer's segment, so they are cached per
  (segment, product, k) in a bounded cache.

Every other family goes through `model.explain` item by item. The results are the same Reason
objects either way (tests/engine/test_explain.py compares them on every customer).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Final

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.models.base import Recommender
from recsys.models.itemknn import ItemKNNRecommender
from recsys.models.popularity import PopularityRecommender
from recsys.models.reason import Reason, co_held_reasons

MAX_DENSE_PRODUCTS: Final = 4096  # a dense float32 similarity of at most 64 MiB
SEGMENT_CACHE_SIZE: Final = 4096  # contexts may send any segment: keep the cache bounded


class Explainer:
    """`explain(history_row, products, k, features)` for one fitted model."""

    def __init__(self, model: Recommender) -> None:
        self.model = model
        self._dense: np.ndarray | None = None
        n = model.n_products or 0
        if type(model) is ItemKNNRecommender and n <= MAX_DENSE_PRODUCTS:
            self._dense = model.similarity.toarray()  # its dtype kept: shares round alike
        self._by_segment = type(model) is PopularityRecommender
        self.uses_features = self._dense is None  # item-kNN's reasons read history only
        self._cached = functools.lru_cache(maxsize=SEGMENT_CACHE_SIZE)(self._segment_reasons)

    def explain(
        self,
        history_row: sp.csr_matrix,
        products: Sequence[int],
        k: int,
        features: pl.DataFrame | None,
    ) -> list[list[Reason]]:
        """Up to k reasons per product (strongest first) for one customer state (1 x n)."""
        if self._dense is not None:
            return self._co_held(history_row, products, k)
        if self._by_segment and features is not None and C.segment in features.columns:
            segment = features[C.segment][0]
            return [list(self._cached(segment, int(p), k)) for p in products]
        return [
            self.model.explain(history_row, int(p), k, features=features) for p in products
        ]

    def _co_held(self, history_row: sp.csr_matrix, products: Sequence[int], k: int) -> list:
        """Item-kNN's reasons: shares = history weight x similarity(held item, product)."""
        items = history_row.indices
        data = history_row.data.astype(np.float32, copy=False)  # as explain() casts it
        cols = np.asarray(products, dtype=np.int64)
        shares = data[:, None] * self._dense[np.ix_(items, cols)]  # (held items, products)
        return [co_held_reasons(items, shares[:, j], int(p), k) for j, p in enumerate(cols)]

    def _segment_reasons(self, segment: str | None, product: int, k: int) -> list[Reason]:
        """Popularity's reasons for a customer of `segment` (None = no segment)."""
        features = pl.DataFrame({C.segment: [segment]}, schema={C.segment: pl.String})
        n = self.model.n_products or 0
        empty = sp.csr_matrix((1, n), dtype=np.float32)
        return self.model.explain(empty, product, k, features=features)
