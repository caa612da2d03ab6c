"""Customer x product interaction matrix (CSR) with frozen id maps both ways.

`build_interactions` turns events into weighted, recency-decayed signal:
weight(event) = weights[event type] * 0.5 ** (age_days / half_life_days), age measured back
from `as_of`; weights of one (customer, product) pair are summed. A close counts as whatever
`weights["close"]` says (default 0.0 in settings, i.e. dropped): a closed product was still of
interest once, and what is held NOW is the job of `holdings_at`, not of this matrix. Negative
weights are allowed (implicit treats them as negative feedback); cells that sum to exactly
zero are removed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.data.holdings import require_aware
from recsys.data.idmap import IdMap

logger = logging.getLogger(__name__)

_MICROS_PER_DAY = 86_400 * 1_000_000
MAX_SHOWN = 5


@dataclass(frozen=True)
class Interactions:
    """A weighted customer x product CSR matrix plus the id maps of its rows and columns."""

    matrix: sp.csr_matrix  # float32, shape (len(customers), len(products))
    customers: IdMap
    products: IdMap

    @property
    def shape(self) -> tuple[int, int]:
        """(customers, products)."""
        return self.matrix.shape


def build_interactions(
    events: pl.DataFrame,
    *,
    customers: IdMap,
    products: IdMap,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> Interactions:
    """Weighted, recency-decayed event counts per (customer, product) at `as_of`, as CSR."""
    _check_weights(weights, half_life_days)
    _check_event_types(events, weights)
    as_of = require_aware(as_of, "as_of")
    used = {e: float(w) for e, w in weights.items() if w != 0.0}
    shape = (len(customers), len(products))
    if not used:  # no event type counts; polars cannot type a replace over an empty mapping
        return Interactions(sp.csr_matrix(shape, dtype=np.float32), customers, products)
    kept = events.filter((pl.col(C.timestamp) <= as_of) & pl.col(C.event).is_in(list(used)))
    values = kept.select(_weight(used, half_life_days, as_of).alias(C.weight))[C.weight].to_numpy()
    rows = internal_ids(kept[C.customer_id], customers, "customer")
    cols = internal_ids(kept[C.product_id], products, "product")
    matrix = to_csr(rows, cols, values, shape)
    logger.debug("interactions: %d events -> %d cells", kept.height, matrix.nnz)
    return Interactions(matrix, customers, products)


def interaction_weights(
    events: pl.DataFrame,
    *,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> pl.DataFrame:
    """The matrix `build_interactions` makes, as (customer_id, product_id, weight) rows sorted
    by customer and product: what training needs of the events, aggregated (Spark makes the
    same rows at scale, batch/spark_prepare.py)."""
    _check_weights(weights, half_life_days)
    _check_event_types(events, weights)
    as_of = require_aware(as_of, "as_of")
    used = {e: float(w) for e, w in weights.items() if w != 0.0}
    schema = {C.customer_id: pl.String, C.product_id: pl.String, C.weight: pl.Float64}
    if not used:
        return pl.DataFrame(schema=schema)
    return (
        events.filter((pl.col(C.timestamp) <= as_of) & pl.col(C.event).is_in(list(used)))
        .group_by(C.customer_id, C.product_id)
        .agg(_weight(used, half_life_days, as_of).sum().alias(C.weight))
        .filter(pl.col(C.weight) != 0.0)
        .sort(C.customer_id, C.product_id)
        .select(
            pl.col(C.customer_id).cast(pl.String), pl.col(C.product_id).cast(pl.String), C.weight
        )
    )


def _weight(used: Mapping[str, float], half_life_days: float | None, as_of: datetime) -> pl.Expr:
    """An event's weight: its type's, halved every `half_life_days` back from `as_of`."""
    weight = pl.col(C.event).replace_strict(used, return_dtype=pl.Float64)
    if half_life_days is not None:
        age_days = (pl.lit(as_of) - pl.col(C.timestamp)).dt.total_microseconds() / _MICROS_PER_DAY
        weight = weight * pl.lit(0.5).pow(age_days / half_life_days)
    return weight


def interactions_from_holdings(
    holdings: pl.DataFrame, customers: IdMap, products: IdMap, *, binary: bool = False
) -> Interactions:
    """CSR of holdings (quantity, or 1.0 per held product when `binary`) over the given id maps."""
    values = holdings[C.quantity].cast(pl.Float64).to_numpy()
    if binary:
        values = np.ones_like(values)
    rows = internal_ids(holdings[C.customer_id], customers, "customer")
    cols = internal_ids(holdings[C.product_id], products, "product")
    matrix = to_csr(rows, cols, values, (len(customers), len(products)))
    return Interactions(matrix, customers, products)


def internal_ids(external: pl.Series, idmap: IdMap, what: str) -> np.ndarray:
    """Internal ids of `external` (int32); ValueError naming up to 5 ids not in `idmap`."""
    mapped = idmap.to_internal_series(external)
    unknown = mapped.is_null()
    if unknown.any():
        missing = external.filter(unknown).unique(maintain_order=True)
        shown = missing.head(MAX_SHOWN).to_list()
        raise ValueError(
            f"{missing.len()} unknown {what} id(s) in column {external.name} "
            f"(not in the {what} id map): {shown}"
        )
    return mapped.to_numpy().astype(np.int32, copy=False)


def to_csr(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Sum duplicate (row, col) cells in float64, then store float32 with zero cells removed."""
    coo = sp.coo_matrix((values.astype(np.float64, copy=False), (rows, cols)), shape=shape)
    matrix = coo.tocsr()  # tocsr sums duplicates
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return sp.csr_matrix(matrix, dtype=np.float32)


def _check_weights(weights: Mapping[str, float], half_life_days: float | None) -> None:
    bad = {e: w for e, w in weights.items() if not math.isfinite(float(w))}
    if bad:
        raise ValueError(f"interaction weights must be finite, got {bad}")
    if half_life_days is not None and not (half_life_days > 0 and math.isfinite(half_life_days)):
        raise ValueError(f"half_life_days must be > 0 or None, got {half_life_days}")


def _check_event_types(events: pl.DataFrame, weights: Mapping[str, float]) -> None:
    # An event type without a weight is a configuration gap, not something to drop silently.
    types = events.select(pl.col(C.event).unique().sort())[C.event].to_list()
    missing = [t for t in types if t not in weights]
    if missing:
        raise ValueError(
            f"events, column {C.event}: no interaction weight for event type(s) {missing}; "
            f"weights are given for {sorted(weights)}"
        )
