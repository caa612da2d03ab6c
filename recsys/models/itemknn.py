"""Item-kNN (implicit's cosine / BM25 / TF-IDF item-item similarity), scored as history @ S."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender
from implicit.utils import ParameterWarning
from pydantic import BaseModel, ConfigDict, Field

from recsys.models.base import Recommender
from recsys.models.reason import Reason, co_held_many
from recsys.models.train_data import TrainData

MAX_DENSE_PRODUCTS = 4096  # a dense float32 similarity of at most 64 MiB


class ItemKNNConfig(BaseModel):
    """Item-kNN settings."""

    model_config = ConfigDict(extra="forbid")

    # cosine is the safe default for small catalogs: implicit's BM25/TF-IDF weight each
    # customer like a "term" with idf = log(n_products / (1 + n_held)), which reaches 0 or
    # below for customers holding most of a catalog of a few dozen products.
    similarity: Literal["cosine", "bm25", "tfidf"] = "cosine"
    neighbours: int | None = Field(default=None, ge=1, description="K; None keeps every product")
    bm25_k1: float = Field(default=1.2, gt=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)
    num_threads: int = Field(default=1, ge=0)


class ItemKNNRecommender(Recommender):
    """score(u, j) = sum_i history[u, i] * S[i, j] with S learned by implicit."""

    family = "itemknn"
    Config = ItemKNNConfig
    config: ItemKNNConfig
    uses_features = False

    def _fit(self, train: TrainData) -> None:
        m = train.interactions.matrix
        k = min(self.config.neighbours or m.shape[1], m.shape[1])
        threads = self.config.num_threads
        if self.config.similarity == "bm25":
            model = BM25Recommender(
                K=k, K1=self.config.bm25_k1, B=self.config.bm25_b, num_threads=threads
            )
        elif self.config.similarity == "tfidf":
            model = TFIDFRecommender(K=k, num_threads=threads)
        else:
            model = CosineRecommender(K=k, num_threads=threads)
        with warnings.catch_warnings():
            # implicit's own weighting hands its knn a COO matrix and then warns about it
            warnings.simplefilter("ignore", ParameterWarning)
            model.fit(m, show_progress=False)
        self.similarity = sp.csr_matrix(model.similarity, dtype=np.float32)

    def dense_similarity(self) -> np.ndarray | None:
        """S as a read-only dense array (kept) for catalogs of up to MAX_DENSE_PRODUCTS."""
        s = self.similarity
        kept = self.__dict__.get("_dense")
        if kept is None or kept[0] is not s:  # first use, or S was replaced
            # a canonical S only: csr @ S adds duplicate cells one by one, toarray() first
            small = s.shape[0] <= MAX_DENSE_PRODUCTS and s.has_canonical_format
            dense = s.toarray() if small else None
            if dense is not None:
                dense.setflags(write=False)
            kept = self._dense = (s, dense)
        return kept[1]

    def _score(
        self,
        history: sp.csr_matrix,
        customer_rows: np.ndarray | None,
        features: pl.DataFrame | None,
    ) -> np.ndarray:
        dense = self.dense_similarity()
        if dense is not None and np.isfinite(history.data).all():
            # csr @ dense adds history[i] * S[i, :] over each row's cells in stored order
            # into zeros, as csr @ csr adds the stored S[i, j] (a cell S does not store adds
            # an exact 0), and it makes no sparse result. Non-finite weights would turn
            # inf * 0 into NaN where the sparse product has nothing: not here.
            return history @ dense
        return (history @ self.similarity).toarray()

    def _explain_products(
        self,
        history: sp.csr_matrix,
        products: list[int],
        k: int,
        features: pl.DataFrame | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        items, cols = history.indices, np.asarray(products, dtype=np.int64)
        dense = self.dense_similarity()
        if dense is not None:
            similar = dense[np.ix_(items, cols)]
        else:
            similar = self.similarity[items][:, cols].toarray()
        return co_held_many(items, history.data[:, None] * similar, products, k, citable)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        s = self.similarity
        return {}, {"data": s.data, "indices": s.indices, "indptr": s.indptr}

    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        n = int(state["n_products"])
        self.similarity = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(n, n)
        )
