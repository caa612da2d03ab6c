"""Held: a non-repeatable product the customer already holds is not offered again."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.rules.catalog import Catalog


def not_held(
    catalog: Catalog, held: sp.sparray | sp.spmatrix | np.ndarray | None, n_customers: int
) -> np.ndarray:
    """(b, n) bool: False where quantity > 0 for a non-repeatable product; None = holds nothing."""
    allowed = np.ones((n_customers, len(catalog)), dtype=bool)
    if held is None:
        return allowed
    if not sp.issparse(held):
        held = np.asarray(held)
    if held.shape != allowed.shape:
        raise ValueError(
            f"held has shape {held.shape}, expected {allowed.shape} (customers, products)"
        )
    if sp.issparse(held):
        csr = sp.csr_array(held)
        if not csr.has_canonical_format:
            # Duplicate entries of one cell add up; only their sum says whether it is held.
            csr = csr.copy()
            csr.sum_duplicates()
        rows = np.repeat(np.arange(n_customers), np.diff(csr.indptr))
        positive = csr.data > 0
        rows, cols = rows[positive], csr.indices[positive]
    else:
        rows, cols = np.nonzero(held > 0)
    blocked = ~catalog.repeatable[cols]
    allowed[rows[blocked], cols[blocked]] = False
    return allowed
