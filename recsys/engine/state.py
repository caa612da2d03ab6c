"""A batch of customer states: snapshot rows, overridden by holdings the caller knows better."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.engine.csr import csr_of
from recsys.engine.snapshot import Snapshot
from recsys.rules.customers import CustomerBatch

UNKNOWN_SEGMENT = "unknown"
# A customer the bank has not profiled is treated as the most cautious investor: only R1.
UNKNOWN_RISK_TOLERANCE = 1
PLACEHOLDER_BIRTH_YEAR = 1970  # never decides anything: age_known=False rows skip aged products
_DEFAULTS = {  # rule inputs of a customer whose profile does not say
    C.birth_year: PLACEHOLDER_BIRTH_YEAR,
    C.risk_tolerance: UNKNOWN_RISK_TOLERANCE,
    C.marketing_consent: False,
}


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


@dataclass(frozen=True, eq=False)
class ProfileArrays:
    """Every snapshot customer's rule inputs as arrays, extracted once per snapshot.

    Each array has one entry per snapshot row plus a last entry holding the cautious defaults
    of a customer the snapshot does not know, so row -1 indexes exactly those.
    """

    birth_year: np.ndarray  # int32 (N + 1,), PLACEHOLDER_BIRTH_YEAR where unknown
    age_known: np.ndarray  # bool (N + 1,)
    risk_tolerance: np.ndarray  # int8 (N + 1,)
    marketing_consent: np.ndarray  # bool (N + 1,)
    segment: np.ndarray  # str objects (N + 1,), shared strings: 8 bytes a customer
    segment_nulls: bool  # some snapshot customer has no segment (filled with UNKNOWN_SEGMENT)

    @classmethod
    def of(cls, customers: pl.DataFrame) -> ProfileArrays:
        """From a snapshot's customers frame (its row order)."""
        known = rule_inputs(customers)
        segment = customers[C.segment]
        values = segment.fill_null(UNKNOWN_SEGMENT).unique().sort()
        codes = segment.fill_null(UNKNOWN_SEGMENT).replace_strict(
            values, pl.int_range(values.len(), eager=True), return_dtype=pl.Int64
        )
        shared = np.append(values.to_numpy().astype(object), UNKNOWN_SEGMENT)
        return cls(
            birth_year=np.append(known.birth_year, np.int32(PLACEHOLDER_BIRTH_YEAR)),
            age_known=np.append(customers[C.birth_year].is_not_null().to_numpy(), False),
            risk_tolerance=np.append(known.risk_tolerance, np.int8(UNKNOWN_RISK_TOLERANCE)),
            marketing_consent=np.append(known.marketing_consent, False),
            segment=shared[np.append(codes.to_numpy(), len(values))],
            segment_nulls=bool(segment.null_count()),
        )

    def take(self, rows: np.ndarray) -> tuple[CustomerBatch, np.ndarray]:
        """Rule inputs and age_known of snapshot `rows` (-1 = unknown customer)."""
        customers = CustomerBatch(
            birth_year=self.birth_year[rows],
            risk_tolerance=self.risk_tolerance[rows],
            marketing_consent=self.marketing_consent[rows],
            segment=self.segment[rows],
        )
        return customers, self.age_known[rows]


def batch_state(
    snapshot: Snapshot,
    customer_ids: Sequence[str],
    holdings: Sequence[Sequence[str] | None] | None = None,
    *,
    purchase_weight: float = 1.0,
    profiles: ProfileArrays | None = None,
) -> BatchState:
    """States of `customer_ids`; a non-None holdings[i] replaces that customer's holdings.

    `profiles` (ProfileArrays.of(snapshot.customers), built once per snapshot) makes the rule
    inputs an array lookup instead of frame work on every call; the result is the same.
    """
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
    features = _features(snapshot, ids, rows, profiles)
    if profiles is None:
        customers = rule_inputs(features)
        age_known = features[C.birth_year].is_not_null().to_numpy()
    else:
        customers, age_known = profiles.take(rows)
    return BatchState(
        customer_ids=ids,
        rows=rows,
        history=history.astype(np.float32, copy=False),  # a new matrix already
        held=held.tocsr(),
        features=features,
        customers=customers,
        age_known=age_known,
    )


def _take_rows(matrix: sp.csr_matrix, rows: np.ndarray, n: int) -> sp.csr_matrix:
    """matrix[rows] with empty rows where rows == -1 (a copy; cut from the CSR arrays directly).

    scipy's fancy row indexing costs ~100 us whatever the batch size; a request asks for one row.
    """
    indptr = matrix.indptr
    if len(rows) == 1:  # the per-request case: plain integer slicing, no index arrays
        row = int(rows[0])
        start, stop = (int(indptr[row]), int(indptr[row + 1])) if row >= 0 else (0, 0)
        ptr = np.array([0, stop - start], dtype=indptr.dtype)
        cut = slice(start, stop)
        # a snapshot row is canonical: its cells need no check (see recsys.engine.csr)
        return csr_of(matrix.data[cut].copy(), matrix.indices[cut].copy(), ptr, (1, n))
    safe = np.where(rows >= 0, rows, 0)
    starts = indptr[safe]
    lengths = np.where(rows >= 0, indptr[safe + 1] - starts, 0)
    out_ptr = np.zeros(len(rows) + 1, dtype=indptr.dtype)
    np.cumsum(lengths, out=out_ptr[1:])
    # position of every kept entry in the source arrays, row after row
    at = np.repeat(starts - out_ptr[:-1], lengths) + np.arange(out_ptr[-1])
    return sp.csr_matrix((matrix.data[at], matrix.indices[at], out_ptr), shape=(len(rows), n))


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


def _features(
    snapshot: Snapshot, ids: list[str], rows: np.ndarray, profiles: ProfileArrays | None = None
) -> pl.DataFrame:
    """Snapshot profile rows; unknown customers get nulls and the 'unknown' segment."""
    frame = snapshot.customers
    if profiles is not None and not profiles.segment_nulls and (rows >= 0).all():
        # known customers only: the rows as they are (ids equal, no segment to fill);
        # one row is a zero-copy slice, ~50x cheaper than a gather plus two column updates
        return frame.slice(int(rows[0]), 1) if len(rows) == 1 else frame[rows]
    if len(rows) == 1 and rows[0] < 0:
        # one customer the snapshot does not know (a request): the frame the lines below
        # build, made from its one row directly: ~15x cheaper than a gather and four updates
        row: dict[str, object] = dict.fromkeys(frame.columns)
        row[C.customer_id], row[C.segment] = ids[0], UNKNOWN_SEGMENT
        return pl.DataFrame([row], schema=frame.schema)
    picked = frame[np.where(rows >= 0, rows, 0)]  # a numpy gather: no Python list of rows
    if (rows < 0).any():
        known = pl.Series(rows >= 0)
        nulls = {c: pl.when(known).then(pl.col(c)).otherwise(None) for c in frame.columns}
        picked = picked.with_columns(**nulls)
    out = picked.with_columns(pl.Series(C.customer_id, ids, pl.String))
    return out.with_columns(pl.col(C.segment).fill_null(UNKNOWN_SEGMENT))


def rule_inputs(features: pl.DataFrame) -> CustomerBatch:
    """The hard rules' inputs of a features frame, cautious defaults where a value is null."""
    if features.height == 1:
        # a request's one customer, read as Python values: Series.fill_null runs a query each
        row = features.row(0, named=True)
        value = {c: default if row[c] is None else row[c] for c, default in _DEFAULTS.items()}
        return CustomerBatch.from_arrays(
            birth_year=[value[C.birth_year]],
            risk_tolerance=[value[C.risk_tolerance]],
            marketing_consent=[value[C.marketing_consent]],
            segment=[row[C.segment]],
        )
    return CustomerBatch.from_arrays(
        birth_year=features[C.birth_year].fill_null(_DEFAULTS[C.birth_year]).to_numpy(),
        risk_tolerance=features[C.risk_tolerance].fill_null(_DEFAULTS[C.risk_tolerance]).to_numpy(),
        marketing_consent=features[C.marketing_consent]
        .fill_null(_DEFAULTS[C.marketing_consent])
        .to_numpy(),
        segment=features[C.segment].to_numpy(),
    )
