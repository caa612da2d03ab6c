"""The cold-start prior: a product's purchase rate for a customer, from what both are.

A bilinear ridge regression of "bought it" on (customer tokens) x (product tokens):
Y ~ U W A^T over every (customer, product) pair of the training period. Over all pairs the
design is the Kronecker product of U and A, so the normal equations factor:
with U'U = P diag(s) P' and A'A = Q diag(t) Q', W = P [(P'U'YAQ) / (s t' + ridge)] Q'.
A product nobody holds yet is scored by its attributes through W; so is a customer the
snapshot does not know, by the profile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.coldstart.features import (
    Vocabulary,
    customer_tokens,
    design,
    product_tokens,
    vocabulary,
)

DEFAULT_RIDGE: Final = 10.0


@dataclass(frozen=True, eq=False)
class ColdStartPrior:
    """W between the customer and product vocabularies, and the day ages are counted on."""

    customers: Vocabulary
    products: Vocabulary
    weights: np.ndarray  # (customer columns, product columns) float64
    today: date

    def scores(
        self,
        customers: pl.DataFrame,
        products: pl.DataFrame,
        bought: Sequence[Sequence[str]] | None = None,
    ) -> np.ndarray:
        """(customers, products) float32 prior purchase rates (clipped at 0); `bought`: the
        categories each customer bought so far."""
        u = design(customer_tokens(customers, self.today, bought), self.customers)
        a = design(product_tokens(products), self.products)
        return np.maximum(u @ self.weights @ a.T, 0.0).astype(np.float32)

    def save(self, path: Path) -> None:
        """Write as npz (vocabularies as text arrays; no pickle)."""
        np.savez(
            path,
            customers=np.array(self.customers.names),
            products=np.array(self.products.names),
            weights=self.weights,
            today=np.array(self.today.isoformat()),
        )

    @classmethod
    def load(cls, path: Path) -> ColdStartPrior:
        """Read a prior written by `save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                Vocabulary(tuple(z["customers"].tolist())),
                Vocabulary(tuple(z["products"].tolist())),
                z["weights"],
                date.fromisoformat(str(z["today"])),
            )


def fit_prior(
    customers: pl.DataFrame,
    products: pl.DataFrame,
    bought: sp.spmatrix | np.ndarray,
    today: date,
    ridge: float = DEFAULT_RIDGE,
    before: Sequence[Sequence[str]] | None = None,
) -> ColdStartPrior:
    """The prior fitted on `bought` (customers x products, rows and columns in frame order:
    purchases of a recent period), `before` the categories each customer bought earlier."""
    if ridge <= 0:
        raise ValueError(f"ridge must be > 0, got {ridge}")
    if bought.shape != (customers.height, products.height):
        raise ValueError(
            f"bought has shape {bought.shape}, expected {(customers.height, products.height)}"
        )
    c_tokens, p_tokens = customer_tokens(customers, today, before), product_tokens(products)
    c_vocab, p_vocab = vocabulary(c_tokens), vocabulary(p_tokens)
    u, a = design(c_tokens, c_vocab), design(p_tokens, p_vocab)
    y = sp.csr_matrix(bought, dtype=np.float64)
    s, p = np.linalg.eigh(u.T @ u)
    t, q = np.linalg.eigh(a.T @ a)
    uya = np.asarray((y.T @ u).T @ a)  # U'YA without a dense Y
    inner = (p.T @ uya @ q) / (np.outer(np.maximum(s, 0), np.maximum(t, 0)) + ridge)
    return ColdStartPrior(c_vocab, p_vocab, p @ inner @ q.T, today)
