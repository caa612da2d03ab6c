"""A batch of customer states: snapshot rows as dense vectors over the catalog.

A bank has tens to a few hundred products, so one customer's state is a few hundred numbers:
dense rows serve one customer and a batch alike, with no sparse bookkeeping per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

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
_DEFAULTS = {  # rule inputs of a customer whose profile does not say
    C.birth_year: PLACEHOLDER_BIRTH_YEAR,
    C.risk_tolerance: UNKNOWN_RISK_TOLERANCE,
    C.marketing_consent: False,
}


@dataclass(frozen=True, eq=False)
class BatchState:
    """What the pipeline needs per requested customer (row i = customer_ids[i])."""

    customer_ids: list[str]
    rows: np.ndarray  # int64 snapshot row, -1 for customers the snapshot does not know
    history: np.ndarray  # (b, n) float32: what the model scores
    held: np.ndarray  # (b, n) int64: current holdings quantities
    profile_frame: pl.DataFrame  # ProfileArrays.frame, which `features` takes rows of
    customers: CustomerBatch  # rule inputs, with cautious defaults for unknown customers
    # (b,) bool: the row's features came from the request's context, not ProfileArrays.frame
    from_context: np.ndarray | None = None
    context_features: pl.DataFrame | None = None  # `features`, where a context gave some
    # (b, n) int64 UTC microseconds of the last purchase / view or click, 0 = never: the
    # facts reasons cite (recsys.engine.facts); None = not known (all never)
    bought_at: np.ndarray | None = None
    looked_at: np.ndarray | None = None

    @cached_property
    def features(self) -> pl.DataFrame:
        """(b rows) profile columns, nulls where unknown; made on first use, since models
        read their codes of the profiles (Engine.model_features), not the frame."""
        if self.context_features is not None:
            return self.context_features
        return _features(self.profile_frame, self.customer_ids, self.rows)


@dataclass(frozen=True, eq=False)
class ProfileArrays:
    """Every snapshot customer's rule inputs as arrays, extracted once per snapshot.

    Each array, and the profile frame, has one entry per snapshot row plus a last entry for a
    customer the snapshot does not know (cautious defaults; nulls and the unknown segment in
    the frame), so row -1 indexes exactly those and a batch of any mix is one gather.
    """

    birth_year: np.ndarray  # int32 (N + 1,), PLACEHOLDER_BIRTH_YEAR where unknown
    age_known: np.ndarray  # bool (N + 1,)
    risk_tolerance: np.ndarray  # int8 (N + 1,)
    marketing_consent: np.ndarray  # bool (N + 1,)
    segment: np.ndarray  # str objects (N + 1,), shared strings: 8 bytes a customer
    frame: pl.DataFrame  # (N + 1 rows) profile columns, segment nulls filled

    @classmethod
    def of(cls, customers: pl.DataFrame) -> ProfileArrays:
        """From a snapshot's customers frame (its row order)."""
        known = rule_inputs(customers)
        segment = customers[C.segment].fill_null(UNKNOWN_SEGMENT)
        values = segment.unique().sort()
        codes = segment.replace_strict(
            values, pl.int_range(values.len(), eager=True), return_dtype=pl.Int64
        )
        shared = np.append(values.to_numpy().astype(object), UNKNOWN_SEGMENT)
        unknown_segment = pl.lit(UNKNOWN_SEGMENT, customers.schema[C.segment]).alias(C.segment)
        unknown = customers.clear(1).with_columns(unknown_segment)
        # rechunk=False: the snapshot's columns are shared, not copied
        frame = pl.concat([customers.with_columns(segment), unknown], rechunk=False)
        return cls(
            birth_year=np.append(known.birth_year, np.int32(PLACEHOLDER_BIRTH_YEAR)),
            age_known=np.append(known.age_known, False),
            risk_tolerance=np.append(known.risk_tolerance, np.int8(UNKNOWN_RISK_TOLERANCE)),
            marketing_consent=np.append(known.marketing_consent, False),
            segment=shared[np.append(codes.to_numpy(), len(values))],
            frame=frame,
        )

    def take(self, rows: np.ndarray) -> CustomerBatch:
        """Rule inputs of snapshot `rows` (-1 = unknown customer)."""
        return CustomerBatch(
            birth_year=self.birth_year[rows],
            risk_tolerance=self.risk_tolerance[rows],
            marketing_consent=self.marketing_consent[rows],
            segment=self.segment[rows],
            age_known=self.age_known[rows],
        )


def batch_state(
    snapshot: Snapshot,
    customer_ids: Sequence[str],
    holdings: Sequence[Sequence[str] | None] | None = None,
    *,
    purchase_weight: float = 1.0,
    profiles: ProfileArrays | None = None,
) -> BatchState:
    """States of `customer_ids`; a non-None holdings[i] replaces that customer's holdings.

    `profiles` is ProfileArrays.of(snapshot.customers), built once per snapshot by the engine.
    """
    ids = [str(c) for c in customer_ids]
    if holdings is not None and len(holdings) != len(ids):
        raise ValueError(f"holdings has {len(holdings)} entries for {len(ids)} customers")
    rows = snapshot.customer_map.to_internal(ids, strict=False)
    history = dense_rows(snapshot.history, rows, np.float32)
    held = dense_rows(snapshot.held, rows, np.int64)
    if holdings is not None:
        given = np.array([h is not None for h in holdings], dtype=bool)
        override = _holdings_matrix(snapshot, holdings, len(ids))
        held[given] = override[given]
        np.maximum(history, override * np.float32(purchase_weight), out=history)
    profiles = profiles or ProfileArrays.of(snapshot.customers)
    return BatchState(
        customer_ids=ids,
        rows=rows,
        history=history,
        held=held,
        profile_frame=profiles.frame,
        customers=profiles.take(rows),
        bought_at=dense_rows(snapshot.bought_at, rows, np.int64),
        looked_at=dense_rows(snapshot.looked_at, rows, np.int64),
    )


def dense_rows(matrix: sp.csr_matrix, rows: np.ndarray, dtype: type) -> np.ndarray:
    """matrix[rows] of a canonical matrix (a snapshot's) as a dense (len(rows), n) array,
    zero rows where rows == -1."""
    out = np.zeros((len(rows), matrix.shape[1]), dtype=dtype)
    indptr = matrix.indptr
    safe = np.where(rows >= 0, rows, 0)
    starts = indptr[safe]
    lengths = np.where(rows >= 0, indptr[safe + 1] - starts, 0)
    offsets = np.cumsum(lengths) - lengths
    # position of every kept entry in the source arrays, row after row
    at = np.repeat(starts - offsets, lengths) + np.arange(lengths.sum())
    out[np.repeat(np.arange(len(rows)), lengths), matrix.indices[at]] = matrix.data[at]
    return out


def _holdings_matrix(
    snapshot: Snapshot, holdings: Sequence[Sequence[str] | None], b: int
) -> np.ndarray:
    """(b, n) with 1 per (row, held product); unknown product ids raise ValueError."""
    row_idx = np.repeat(np.arange(b), [len(h) if h is not None else 0 for h in holdings])
    flat = [str(p) for h in holdings if h is not None for p in h]
    cols = snapshot.product_map.to_internal(flat, strict=False)
    if (cols < 0).any():
        unknown = sorted({p for p, c in zip(flat, cols, strict=True) if c < 0})[:5]
        raise ValueError(f"holdings: unknown product ids {unknown}")
    out = np.zeros((b, len(snapshot.product_map)), dtype=np.int64)
    out[row_idx, cols] = 1  # a product listed twice is still one holding
    return out


def _features(frame: pl.DataFrame, ids: list[str], rows: np.ndarray) -> pl.DataFrame:
    """Profile rows of ProfileArrays.frame; unknown customers get its last row, with their id."""
    at = np.where(rows >= 0, rows, frame.height - 1)
    first = int(at[0]) if len(at) else 0
    if np.array_equal(at, np.arange(first, first + len(at))):
        picked = frame.slice(first, len(at))  # a run of rows (one customer is one): no gather
    else:
        picked = frame[at]
    if (rows < 0).any():
        # on the new frame object only: the snapshot's columns are not touched
        picked.replace_column(
            picked.get_column_index(C.customer_id), pl.Series(C.customer_id, ids, pl.String)
        )
    return picked


def rule_inputs(features: pl.DataFrame) -> CustomerBatch:
    """The hard rules' inputs of a features frame, cautious defaults where a value is null."""
    return CustomerBatch.from_arrays(
        birth_year=features[C.birth_year].fill_null(_DEFAULTS[C.birth_year]).to_numpy(),
        risk_tolerance=features[C.risk_tolerance].fill_null(_DEFAULTS[C.risk_tolerance]).to_numpy(),
        marketing_consent=features[C.marketing_consent]
        .fill_null(_DEFAULTS[C.marketing_consent])
        .to_numpy(),
        segment=features[C.segment].fill_null(UNKNOWN_SEGMENT).to_numpy(),
        age_known=features[C.birth_year].is_not_null().to_numpy(),
    )
