"""The one model contract: fit on TrainData, score batches of customer states, top-k, explain."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import BaseModel

from recsys.models._io import read_arrays, read_model_json, write_model_dir
from recsys.models.reason import Reason
from recsys.models.train_data import TrainData
from recsys.rules.topk import masked_topk

History = np.ndarray | sp.csr_matrix  # (b, n_products) weights: dense rows or CSR
# A features frame (one profile row per customer), or what the model's encode_features made
# of one: int codes (b x columns), so a server encodes its snapshot's profiles once
Features = pl.DataFrame | np.ndarray


def dense_to_csr(dense: np.ndarray) -> sp.csr_matrix:
    """A dense float32 (b, n) as canonical CSR, straight from its nonzero cells."""
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return sp.csr_matrix((dense[rows, cols], cols.astype(np.int32), indptr), shape=dense.shape)


class Recommender(ABC):
    """Abstract recommender over internal ids: histories in, dense scores / (ids, scores) out.

    A history is (b, n_products) weights, dense rows (what the request pipeline holds) or
    CSR (what training and evaluation hold); a model receives it in its `history_format`.

    Subclasses set `family` and `Config` and implement `_fit`, `_score`, `_explain_products`,
    `_state` and `_restore`; validation, top-k, config and persistence live here.
    """

    family: ClassVar[str]
    Config: ClassVar[type[BaseModel]]
    # False for models that give useful scores to customers with an empty history.
    needs_history: ClassVar[bool] = True
    # False for models whose scores and reasons never read the features frame (callers
    # may then pass None and skip making it)
    uses_features: ClassVar[bool] = True
    # How _score and _explain_products take the history: "dense" models skip sparse
    # bookkeeping on a request's few rows; "csr" ones (fold-in, sparse products) need cells.
    history_format: ClassVar[Literal["csr", "dense"]] = "csr"

    def __init__(self, config: BaseModel | None = None, **params: Any) -> None:
        base = config.model_dump() if config is not None else {}
        self.config = self.Config.model_validate({**base, **params})
        self.n_products: int | None = None

    # --- config -------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: BaseModel | dict[str, Any]) -> Self:
        """A new, unfitted model from a config (or its dict form)."""
        return cls(
            cls.Config.model_validate(config if isinstance(config, dict) else config.model_dump())
        )

    def get_config(self) -> BaseModel:
        """The model's pydantic config; `from_config(get_config())` rebuilds the same model."""
        return self.config

    def get_params(self) -> dict[str, str | int | float | bool | None]:
        """Flat parameters for mlflow.log_params (nested values JSON-encoded)."""
        flat: dict[str, str | int | float | bool | None] = {"family": self.family}
        for key, value in self.config.model_dump(mode="json").items():
            scalar = value is None or isinstance(value, str | int | float | bool)
            flat[key] = value if scalar else json.dumps(value, sort_keys=True)
        return flat

    # --- fit / score --------------------------------------------------------------------
    def fit(self, train: TrainData) -> Self:
        """Fit on the interactions (and feature frames where the model uses them)."""
        matrix = train.interactions.matrix
        if not sp.issparse(matrix) or matrix.format != "csr":
            raise TypeError(f"interactions.matrix must be a scipy CSR matrix, got {type(matrix)}")
        if matrix.shape[1] == 0 or matrix.nnz == 0:
            raise ValueError(f"cannot fit on an empty interaction matrix (shape {matrix.shape})")
        if not np.isfinite(matrix.data).all():
            raise ValueError("interactions.matrix has non-finite values")
        self._fit(train)
        self.n_products = matrix.shape[1]
        return self

    def score(
        self,
        history: History,
        customer_rows: np.ndarray | None = None,
        features: Features | None = None,
    ) -> np.ndarray:
        """Scores (b x n_products float32) for a batch of customer states (current histories)."""
        history, rows = self._check_batch(history, customer_rows, features)
        return np.ascontiguousarray(self._score(history, rows, features), dtype=np.float32)

    def recommend(
        self,
        history: History,
        k: int,
        allowed: np.ndarray | None = None,
        customer_rows: np.ndarray | None = None,
        features: Features | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids int32 -1 padded, scores float32 -inf padded) among allowed products."""
        return masked_topk(self.score(history, customer_rows, features), allowed, k)

    def explain(
        self,
        history_row: History,
        product: int,
        k_reasons: int = 3,
        *,
        features: Features | None = None,
        citable: np.ndarray | None = None,
    ) -> list[Reason]:
        """Up to k_reasons reasons, strongest first, why `product` suits this customer state."""
        return self.explain_products(
            history_row, [product], k_reasons, features=features, citable=citable
        )[0]

    def explain_products(
        self,
        history_row: History,
        products: Sequence[int],
        k_reasons: int = 3,
        *,
        features: Features | None = None,
        citable: np.ndarray | None = None,
    ) -> list[list[Reason]]:
        """[explain(history_row, p, k_reasons, ...) for p in products]; one request's.

        `citable` ((n,) bool): the products a reason may name (what the customer's facts
        support, recsys.engine.facts); None: any product of the history.
        """
        history = self._check_explain(history_row, products, k_reasons, features)
        n = history.shape[1]
        if citable is None:
            citable = np.ones(n, dtype=bool)
        citable = np.asarray(citable, dtype=bool)
        if citable.shape != (n,):
            raise ValueError(f"citable must have shape ({n},), got {citable.shape}")
        products = [int(p) for p in products]
        return self._explain_products(history, products, k_reasons, features, citable)

    def _check_explain(
        self,
        history_row: History,
        products: Sequence[int],
        k_reasons: int,
        features: Features | None,
    ) -> History:
        """explain's checks for each of `products`: the row as float32, or ValueError."""
        history, _ = self._check_batch(history_row, None, features)
        if history.shape[0] != 1:
            raise ValueError(f"explain takes one customer (1 x n), got {history.shape[0]} rows")
        for product in products:
            if not 0 <= product < history.shape[1]:
                raise ValueError(f"product must be in 0..{history.shape[1] - 1}, got {product}")
        if k_reasons < 1:
            raise ValueError(f"k_reasons must be >= 1, got {k_reasons}")
        return history

    def _check_batch(
        self,
        history: History,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> tuple[History, np.ndarray | None]:
        if self.n_products is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() or load()")
        history = self._in_format(history)
        if history.shape[1] != self.n_products:
            raise ValueError(
                f"history has {history.shape[1]} product columns, the model {self.n_products}"
            )
        b = history.shape[0]
        if customer_rows is not None:
            customer_rows = np.asarray(customer_rows, dtype=np.int64)
            if customer_rows.shape != (b,):
                raise ValueError(f"customer_rows must have shape ({b},), got {customer_rows.shape}")
        if features is not None and len(features) != b:
            raise ValueError(f"features has {len(features)} rows, history {b}")
        return history, customer_rows

    def _in_format(self, history: History) -> History:
        """The history as float32 in this model's `history_format`, or TypeError."""
        if isinstance(history, np.ndarray):
            if history.ndim != 2:
                raise TypeError(f"history must be 2-d (b x n), got shape {history.shape}")
            dense = history.astype(np.float32, copy=False)
            return dense if self.history_format == "dense" else dense_to_csr(dense)
        if not sp.issparse(history) or history.format != "csr":
            raise TypeError(f"history must be a dense array or scipy CSR, got {type(history)}")
        csr = history.astype(np.float32, copy=False)
        return csr.toarray() if self.history_format == "dense" else csr

    def encode_features(self, frame: pl.DataFrame) -> np.ndarray | None:
        """The profile rows as the int codes this model reads (b x columns), which score and
        explain take in place of the frame; None when the model reads the frame itself."""
        return None

    def _codes(self, features: Features) -> np.ndarray:
        """Codes of `features`, encoded now when given as a frame."""
        if isinstance(features, np.ndarray):
            return features
        codes = self.encode_features(features)
        if codes is None:
            raise TypeError(f"{type(self).__name__} has no feature codes")
        return codes

    # --- persistence --------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the fitted model to folder `path` (arrays.npz + model.json, no pickle)."""
        if self.n_products is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; nothing to save")
        state, arrays = self._state()
        state = {**state, "n_products": self.n_products}
        write_model_dir(Path(path), self.family, self.config.model_dump(mode="json"), state, arrays)

    @classmethod
    def load(cls, path: Path) -> Self:
        """A fitted model read back from a folder written by `save`."""
        doc = read_model_json(Path(path))
        if doc["family"] != cls.family:
            raise ValueError(f"{path}: holds a {doc['family']!r} model, not {cls.family!r}")
        model = cls.from_config(doc["config"])
        model._restore(doc["state"], read_arrays(Path(path)))
        model.n_products = int(doc["state"]["n_products"])
        return model

    # --- for subclasses -----------------------------------------------------------------
    @abstractmethod
    def _fit(self, train: TrainData) -> None: ...

    @abstractmethod
    def _score(
        self,
        history: History,
        customer_rows: np.ndarray | None,
        features: Features | None,
    ) -> np.ndarray: ...

    @abstractmethod
    def _explain_products(
        self,
        history: History,
        products: list[int],
        k: int,
        features: Features | None,
        citable: np.ndarray,
    ) -> list[list[Reason]]:
        """Up to k reasons per product for one checked customer state (1 x n float32).

        A reason names a product only where `citable` ((n,) bool) allows, never the product
        it explains. Each product's reasons must not depend on which other products are asked.
        """

    @abstractmethod
    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """JSON-able state and named arrays that `_restore` turns back into a fitted model."""

    @abstractmethod
    def _restore(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None: ...
