"""Suitability: a product rated above the customer's risk tolerance is never allowed."""

from __future__ import annotations

import numpy as np

from recsys.rules.catalog import Catalog
from recsys.rules.customers import CustomerBatch


def suitable(catalog: Catalog, customers: CustomerBatch) -> np.ndarray:
    """(b, n) bool: product risk_rating <= customer risk_tolerance (MiFID II / KYC)."""
    tolerance = customers.risk_tolerance.astype(np.int16)[:, None]
    return catalog.risk_rating.astype(np.int16)[None, :] <= tolerance
