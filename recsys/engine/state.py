"""A batch of customer states: snapshot rows, overridden by holdings the caller knows better."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.engine.snapshot import Snapshot
from recsys.rules.customers import CustomerBatch

UNKNOWN_SEGMENT = "unknown"
# A customer the bank has not profiled is treated as the most cautious investor: only R1.
UNKNOWN_RISK_TOLERANCE = 1
PLACEHOLDER_BIRTH_YEAR = 1970  # never decides anything: age_known=False rows skip aged products


@dataclass(frozen=True, eq=False)
class BatchState:
    """What the engine needs per requested customer (row i = customer_ids[i])."""

    customer_ids: list[str]
    rows: np.ndarray  # int64 snapshot row, -1 for customers the snapshot does not know
    history: sp.csr_matrix  # (b, n) float32: what the model scores
    held: sp.csr_matrix  # (b, n): current holdings quantities
    features: pl.DataFrame  # (b rows) profile columns, nulls where unknown
    customers: CustomerBatch  # rule inputs, with cautious defaults for unknown customers
    age_known: np.ndarray  # bool (b,)


def batch_state(
    snapshot: Snapshot,
    customer_ids: Sequence[str],
    holdings: Sequence[Sequence[str] | None] | None = None,
    *,
    purchase_weight: float = 1.0,
) -> BatchState:
    """States of `customer_ids`; a non-None holdings[i] replaces that customer's holdings."""
    ids = [str(c) for c in customer_ids]
    if holdings is not None and len(holdings) != len(ids):
        raise ValueError(f"holdings has {len(holdings)} entries for {len(ids)} customers")
    rows = snapshot.customer_map.to_internal(ids, strict=False)
    n = len(snapshot.product_map)
    history = _take_rows(snapshot.history, rows, n)
    held = _take_rows(snapshot.held, rows, n)
    if holdings is not None:
        given = [i for i, h in enumerate(holdings) if h is not None]
        override = _holdings_matrix(snapshot, holdings, len(ids))
        keep = np.ones(len(ids), dtype=bool)
        keep[given] = False
        held = _row_scale(held, keep) + override
        history = history.maximum(override * purchase_weight).tocsr()
    features = _features(snapshot, ids, rows)
    return BatchState(
        customer_ids=ids,
        rows=rows,
        history=history.astype(np.float32),
        held=held.tocsr(),
        features=features,
        customers=_rule_inputs(features),
        age_known=features[C.birth_year].is_not_null().to_numpy(),
    )


def _take_rows(matrix: sp.csr_matrix, rows: np.ndarray, n: int) -> sp.csr_matrix:
    """matrix[rows] with empty rows where rows == -1."""
    picked = matrix[np.where(rows >= 0, rows, 0)]
    return _row_scale(picked, rows >= 0).tocsr() if (rows < 0).any() else picked.tocsr()


def _row_scale(m: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    out = sp.diags(keep.astype(np.float32)) @ m
    out.eliminate_zeros()
    return out.tocsr()


def _holdings_matrix(
    snapshot: Snapshot, holdings: Sequence[Sequence[str] | None], b: int
) -> sp.csr_matrix:
    """(b, n) with 1 per (row, held product); unknown product ids raise ValueError."""
    row_idx = np.repeat(np.arange(b), [len(h) if h is not None else 0 for h in holdings])
    flat = [str(p) for h in holdings if h is not None for p in h]
    cols = snapshot.product_map.to_internal(flat, strict=False)
    if (cols < 0).any():
        unknown = sorted({p for p, c in zip(flat, cols, strict=True) if c < 0})[:5]
        raise ValueError(f"holdings: unknown product ids {unknown}")
    m = sp.csr_matrix(
        (np.ones(len(cols), np.float32), (row_idx, cols)), shape=(b, len(snapshot.product_map))
    )
    m.data[:] = 1.0  # a product listed twice is still one holding
    return m


def _features(snapshot: Snapshot, ids: list[str], rows: np.ndarray) -> pl.DataFrame:
    """Snapshot profile rows; unknown customers get nulls and the 'unknown' segment."""
    frame = snapshot.customers
    picked = frame[np.where(rows >= 0, rows, 0)]  # a numpy gather: no Python list of rows
    if (rows < 0).any():
        known = pl.Series(rows >= 0)
        nulls = {c: pl.when(known).then(pl.col(c)).otherwise(None) for c in frame.columns}
        picked = picked.with_columns(**nulls)
    out = picked.with_columns(pl.Series(C.customer_id, ids, pl.String))
    return out.with_columns(pl.col(C.segment).fill_null(UNKNOWN_SEGMENT))


def _rule_inputs(features: pl.DataFrame) -> CustomerBatch:
    return CustomerBatch.from_arrays(
        birth_year=features[C.birth_year].fill_null(PLACEHOLDER_BIRTH_YEAR).to_numpy(),
        risk_tolerance=features[C.risk_tolerance].fill_null(UNKNOWN_RISK_TOLERANCE).to_numpy(),
        marketing_consent=features[C.marketing_consent].fill_null(False).to_numpy(),
        segment=features[C.segment].to_numpy(),
    )
