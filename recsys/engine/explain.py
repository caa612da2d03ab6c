"""Reasons for all suggested products of one customer at once, equal to `model.explain` per item.

`Recommender.explain` answers one (customer, product) pair and validates its input each time;
a request explains k products of one already validated state. For the families whose reasons
are cheap to share, the work is done once per model or once per request:

- item-kNN: the similarity matrix kept dense (a catalog has tens to a few hundred products),
  so the shares of every suggested product come from one small array gather;
- popularity: the reasons depend only on the customer's segment, so they are cached per
  (segment, product, k) in a bounded cache;
- every other family: `model.explain_products`, where models share what they can (sequence
  builds the customer's design row once, the fold-in models their linear system).

The results are the same Reason objects as `model.explain` item by item
(tests/engine/test_explain.py compares them on every customer).
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

SEGMENT_CACHE_SIZE: Final = 4096  # contexts may send any segment: keep the cache bounded


class Explainer:
    """`explain(history_row, products, k, features)` for one fitted model."""

    def __init__(self, model: Recommender) -> None:
        self.model = model
        self._dense: np.ndarray | None = None
        if type(model) is ItemKNNRecommender:
            self._dense = model.dense_similarity()  # its dtype kept: shares round alike
        self._by_segment = type(model) is PopularityRecommender
        # co_held_reasons' code and text, taken from it once (each reason fills in the rest)
        self._co_held = co_held_reasons(np.zeros(1, np.int64), np.ones(1), 1, 1)[0]
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
            return self._co_held_many(history_row, products, k)
        if self._by_segment and features is not None and C.segment in features.columns:
            segment = features[C.segment][0]
            return [list(self._cached(segment, int(p), k)) for p in products]
        return self.model.explain_products(history_row, products, k, features=features)

    def _co_held_many(self, history_row: sp.csr_matrix, products: Sequence[int], k: int) -> list:
        """co_held_reasons of every product at once: one sort for all of them.

        share(item, product) = history weight x similarity(item, product); per product the
        k largest positive shares of items other than the product, ties in item order. One
        sort matters under load: every numpy sort lets go of the GIL, and each time it does,
        the server's other threads take it (a context switch each way).
        """
        items = history_row.indices
        data = history_row.data.astype(np.float32, copy=False)  # as explain() casts it
        cols = np.asarray(products, dtype=np.int64)
        shares = data[:, None] * self._dense[np.ix_(items, cols)]  # (held items, products)
        keep = (items[:, None] != cols[None, :]) & (shares > 0)
        # left-out entries sort last; a stable sort keeps item order among equal shares
        order = np.argsort(np.where(keep, -shares, np.inf), axis=0, kind="stable")[:k]
        chosen = np.take_along_axis(keep, order, axis=0).T.tolist()
        held = items[order].T.tolist()
        weight = np.take_along_axis(shares, order, axis=0).T.tolist()
        code, text = self._co_held.code, self._co_held.text
        return [
            [Reason(code, text, (i,), w) for i, w, c in zip(*row, strict=True) if c]
            for row in zip(held, weight, chosen, strict=True)
        ]

    def _segment_reasons(self, segment: str | None, product: int, k: int) -> list[Reason]:
        """Popularity's reasons for a customer of `segment` (None = no segment)."""
        features = pl.DataFrame({C.segment: [segment]}, schema={C.segment: pl.String})
        n = self.model.n_products or 0
        empty = sp.csr_matrix((1, n), dtype=np.float32)
        return self.model.explain(empty, product, k, features=features)
