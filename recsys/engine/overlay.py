"""Customer states brought up to date: the snapshot's rows plus the events recorded since.

Pure: the caller reads the events (EventStore.for_customers(ids, since=snapshot.as_of)) and
passes them in. The rules are the training-time ones, so a state overlaid here equals what a
snapshot rebuilt with these events would hold:

- holdings replay purchase/close moves on top of the snapshot quantity with the rules of
  `recsys.data.holdings` (same-instant moves net out; non-repeatable products are held at
  most once and the last net move decides; repeatable ones never go below zero);
- history adds each event's weight from `recsys.data.interactions.build_interactions` at
  `as_of` (the request time), so a purchase a second ago counts fully and older ones fade.
  Snapshot rows are NOT decayed again: they keep the scale the model was trained on, and a
  customer without new events gets exactly the snapshot row.

Events after `as_of` are ignored, as both builders do. Events of products the catalog does
not know are dropped with a warning (the server validates product ids before storing, so
they can only come from a catalog change between the store write and this model).

Two paths, one result: batches run the builders themselves on polars frames (~4 ms however
few the events); a request (up to SMALL_CUSTOMERS customers, SMALL_EVENTS rows) replays the
same rules in plain Python over the rows, ~0.1 ms, bit for bit the same state. The server
hands the store's rows over as RecentEvents (`apply_recent`): no frame is built for a request.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.holdings import net_moves, require_aware
from recsys.data.idmap import IdMap
from recsys.data.interactions import build_interactions
from recsys.data.recent_events import RecentEvents
from recsys.engine.csr import csr_of
from recsys.engine.state import BatchState

logger = logging.getLogger(__name__)

SMALL_CUSTOMERS = 8  # batches up to this size take the small path...
SMALL_EVENTS = 1024  # ...when the store returned at most this many rows (a Python loop each)
_MICROS_PER_DAY = 86_400 * 1_000_000  # as recsys.data.interactions measures ages
_POSITION = "_position"  # row of the batch (a customer may appear twice in a batch)
_COLUMN = "_column"  # internal product id
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MOVES = {Events.purchase: 1, Events.close: -1}  # units a purchase / a close moves


def apply_events(
    state: BatchState,
    events: pl.DataFrame,
    *,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """A new state whose held and history rows include `events` (canonical events columns)."""
    as_of = _checked(state, product_map, repeatable, as_of)
    if _small(state, events):
        return _apply_small(state, events, product_map, repeatable, weights, half_life_days, as_of)
    return _apply_frames(state, events, product_map, repeatable, weights, half_life_days, as_of)


def apply_recent(
    state: BatchState,
    events: RecentEvents,
    *,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """`apply_events` of the store's recent events (EventStore.recent), the request path."""
    as_of = _checked(state, product_map, repeatable, as_of)
    if not events:
        return state
    if _small_rows(state, len(events)):
        return _apply_rows(state, events, product_map, repeatable, weights, half_life_days, as_of)
    frame = events.frame()
    return _apply_frames(state, frame, product_map, repeatable, weights, half_life_days, as_of)


def _checked(
    state: BatchState, product_map: IdMap, repeatable: np.ndarray, as_of: datetime
) -> datetime:
    """`as_of` once it is timezone-aware and the catalog sizes agree; ValueError otherwise."""
    as_of = require_aware(as_of, "as_of")
    n = len(product_map)
    if len(repeatable) != n or state.held.shape[1] != n:
        raise ValueError(
            f"catalog sizes differ: product_map {n}, repeatable {len(repeatable)}, "
            f"state {state.held.shape[1]} products"
        )
    return as_of


def _apply_frames(
    state: BatchState,
    events: pl.DataFrame,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """The batch path: polars frames and the training builders' own code (as_of in UTC)."""
    located = _locate(state, events, product_map, as_of)
    if located.is_empty():
        return state
    n = len(product_map)
    # batch positions and product columns as ids, so the builders' own code does the work
    keyed = located.with_columns(
        pl.col(_POSITION).cast(pl.String).alias(C.customer_id),
        pl.col(_COLUMN).cast(pl.String).alias(C.product_id),
    )
    history = state.history + _new_history(
        keyed, len(state.rows), n, weights, half_life_days, as_of
    )
    history.eliminate_zeros()  # as build_interactions: cells that sum to zero are gone
    held = _replay_holdings(state.held, keyed, np.asarray(repeatable, dtype=bool), as_of)
    return replace(state, history=history.astype(np.float32).tocsr(), held=held)


def _locate(
    state: BatchState, events: pl.DataFrame, product_map: IdMap, as_of: datetime
) -> pl.DataFrame:
    """Events of the batch's customers up to as_of, with batch position and product column."""
    positions = pl.DataFrame(
        {C.customer_id: state.customer_ids, _POSITION: np.arange(len(state.rows))},
        schema={C.customer_id: pl.String, _POSITION: pl.Int64},
    )
    mine = (
        events.lazy()
        .select(C.customer_id, C.product_id, C.event, C.timestamp)
        .filter(pl.col(C.timestamp) <= as_of)
        .join(positions.lazy(), on=C.customer_id, how="inner")
        .collect()
    )
    column = product_map.to_internal_series(mine[C.product_id]).alias(_COLUMN)
    unknown = int(column.null_count())
    if unknown:
        shown = mine.filter(column.is_null())[C.product_id].unique().sort().head(5).to_list()
        logger.warning("ignored %d event(s) of products not in the catalog: %s", unknown, shown)
    return mine.with_columns(column).filter(pl.col(_COLUMN).is_not_null())


def _new_history(
    keyed: pl.DataFrame,
    b: int,
    n: int,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> sp.csr_matrix:
    """(b, n) weighted events, weighted by build_interactions itself (batch positions as ids)."""
    rows = IdMap.from_values(keyed[C.customer_id])
    cols = IdMap(np.arange(n).astype(str))
    small = build_interactions(
        keyed,
        customers=rows,
        products=cols,
        weights=weights,
        half_life_days=half_life_days,
        as_of=as_of,
    ).matrix.tocoo()
    position = rows.ids.astype(np.int64)[small.row]
    return sp.csr_matrix((small.data, (position, small.col)), shape=(b, n), dtype=np.float64)


def _replay_holdings(
    held: sp.csr_matrix, keyed: pl.DataFrame, repeatable: np.ndarray, as_of: datetime
) -> sp.csr_matrix:
    """Holdings after replaying the net purchase/close moves from the snapshot quantity."""
    moves = net_moves(keyed, as_of)
    if moves.is_empty():
        return held
    # net units moved at one instant: the one column net_moves adds to the keys
    (net,) = set(moves.columns) - {C.customer_id, C.product_id, C.timestamp}
    delta = pl.col(net)
    walks = moves.group_by(C.customer_id, C.product_id).agg(
        delta.sum().alias("total"),
        delta.sort_by(C.timestamp).cum_sum().min().alias("lowest"),
        delta.sort_by(C.timestamp).last().alias("last"),
    )
    rows = walks[C.customer_id].cast(pl.Int64).to_numpy()
    cols = walks[C.product_id].cast(pl.Int64).to_numpy()
    before = np.rint(np.asarray(held[rows, cols]).ravel()).astype(np.int64)
    total, lowest, last = (walks[c].to_numpy() for c in ("total", "lowest", "last"))
    # floored walk from `before`: every close that finds nothing held is ignored
    counted = before + total - np.minimum(0, before + lowest)
    once = (last > 0).astype(np.int64)  # held at most once: the last net move decides
    after = np.where(repeatable[cols], counted, once)
    change = sp.csr_matrix(((after - before).astype(np.float64), (rows, cols)), shape=held.shape)
    out = (held + change).astype(held.dtype).tocsr()
    out.eliminate_zeros()
    return out


# The request path: one customer (a few at most) with a handful of events since the snapshot.
# Polars frames and the builders cost ~4 ms there, two orders of magnitude more than the work;
# plain Python over the rows gives the same state, bit for bit (tests/engine/test_overlay_fast.py
# compares both paths on random event streams).
def _small(state: BatchState, events: pl.DataFrame) -> bool:
    """Whether the small path applies: few customers and rows, canonical columns, no nulls."""
    if not _small_rows(state, events.height):
        return False
    # anything else (another time unit, missing columns, nulls) is left to the frame path,
    # which compares, converts or raises the way it always has
    return RecentEvents.misfit(events) is None


def _small_rows(state: BatchState, rows: int) -> bool:
    """Few customers and rows, and states the small path reads cell by cell (canonical CSR)."""
    if len(state.customer_ids) > SMALL_CUSTOMERS or rows > SMALL_EVENTS:
        return False
    return bool(state.history.has_canonical_format and state.held.has_canonical_format)


def _apply_small(
    state: BatchState,
    events: pl.DataFrame,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """`_apply_frames`' result in plain Python over the rows of a frame (as_of in UTC)."""
    rows = RecentEvents.from_frame(events)
    return _apply_rows(state, rows, product_map, repeatable, weights, half_life_days, as_of)


def _apply_rows(
    state: BatchState,
    events: RecentEvents,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """`_apply_frames`' result in plain Python over the rows (as_of in UTC)."""
    positions: dict[str, list[int]] = {}
    for i, customer in enumerate(state.customer_ids):
        positions.setdefault(customer, []).append(i)
    limit = (as_of - _EPOCH) // _MICROSECOND  # the events' physical value: UTC microseconds
    customers, stamps = events.customer_id, events.micros
    mine = [
        j
        for j, (c, t) in enumerate(zip(customers, stamps, strict=True))
        if t <= limit and c in positions
    ]
    if not mine:
        return state
    products, kinds = events.product_id, events.event
    columns = product_map.to_internal([products[j] for j in mine], strict=False).tolist()
    # (batch position, product column, event, timestamp): an event per position of its customer
    located: list[tuple[int, int, str, int]] = []
    unknown: list[str] = []
    for j, column in zip(mine, columns, strict=True):
        rows = positions[customers[j]]
        if column < 0:
            unknown.extend(products[j] for _ in rows)
        else:
            located.extend((p, column, kinds[j], stamps[j]) for p in rows)
    if located and not (
        {e for _, _, e, _ in located} <= weights.keys() and _valid(weights, half_life_days)
    ):
        # an event type without a weight, or bad weights: the frame path warns as it does and
        # the builders raise their own errors (one wording, from one place)
        frame = events.frame()
        return _apply_frames(state, frame, product_map, repeatable, weights, half_life_days, as_of)
    if unknown:
        shown = sorted(set(unknown))[:5]
        logger.warning(
            "ignored %d event(s) of products not in the catalog: %s", len(unknown), shown
        )
    if not located:
        return state
    history = _dense(state.history)
    cells = _weighted_cells(located, weights, half_life_days, limit)
    if cells:
        at = np.array(list(cells), dtype=np.int64)  # (cells, 2): position, column
        sums = np.fromiter(cells.values(), dtype=np.float64, count=len(cells))
        # build_interactions stores each cell's float64 sum as float32; the batch path adds
        # that to the snapshot row in float64 and stores the total as float32 again
        history[at[:, 0], at[:, 1]] += sums.astype(np.float32).astype(np.float64)
    held = _replayed(state.held, located, np.asarray(repeatable, dtype=bool))
    return replace(state, history=_sparse(history, np.float32), held=held)


def _valid(weights: Mapping[str, float], half_life_days: float | None) -> bool:
    """What build_interactions accepts: finite weights, half-life None or finite and > 0."""
    try:
        finite = all(math.isfinite(float(w)) for w in weights.values())
        return finite and (
            half_life_days is None or (half_life_days > 0 and math.isfinite(half_life_days))
        )
    except (TypeError, ValueError):
        return False


def _weighted_cells(
    located: list[tuple[int, int, str, int]],
    weights: Mapping[str, float],
    half_life_days: float | None,
    limit: int,
) -> dict[tuple[int, int], float]:
    """(position, column) -> summed event weight, non-zero sums only, as build_interactions."""
    used = {e: float(w) for e, w in weights.items() if w != 0.0}
    cells: dict[tuple[int, int], float] = {}
    for position, column, kind, stamp in located:
        weight = used.get(kind)
        if weight is None:
            continue
        if half_life_days is not None:
            # the same float64 operations, in the same order, as the polars expression
            weight = weight * 0.5 ** ((limit - stamp) / _MICROS_PER_DAY / half_life_days)
        key = (position, column)
        # summed in row order, as scipy sums a row's duplicate cells
        cells[key] = cells[key] + weight if key in cells else weight
    return {key: total for key, total in cells.items() if total != 0.0}


def _replayed(
    held: sp.csr_matrix, located: list[tuple[int, int, str, int]], repeatable: np.ndarray
) -> sp.csr_matrix:
    """`_replay_holdings` over the located rows: the same walks, one (position, column) each."""
    moves: dict[tuple[int, int], dict[int, int]] = {}
    for position, column, kind, stamp in located:
        delta = _MOVES.get(kind)
        if delta is not None:
            at = moves.setdefault((position, column), {})
            at[stamp] = at.get(stamp, 0) + delta
    walks = {}
    for key, at in moves.items():
        # same-instant moves net out first; a zero net move is no move (net_moves drops it)
        deltas = [d for _, d in sorted(at.items()) if d != 0]
        if deltas:
            walks[key] = deltas
    if not walks:
        return held
    quantities = _dense(held)
    for (position, column), deltas in walks.items():
        before = int(np.rint(quantities[position, column]))
        running, lowest = 0, deltas[0]
        for delta in deltas:
            running += delta
            lowest = min(lowest, running)
        counted = before + running - min(0, before + lowest)
        after = counted if repeatable[column] else int(deltas[-1] > 0)
        quantities[position, column] += float(after - before)
    return _sparse(quantities, held.dtype)


def _dense(matrix: sp.csr_matrix) -> np.ndarray:
    """A canonical CSR (no duplicate cells) as a float64 array, without scipy's call overhead."""
    out = np.zeros(matrix.shape, dtype=np.float64)
    indptr = matrix.indptr
    rows = np.repeat(np.arange(len(indptr) - 1), indptr[1:] - indptr[:-1])
    out[rows, matrix.indices] = matrix.data
    return out


def _sparse(values: np.ndarray, dtype: np.dtype) -> sp.csr_matrix:
    """float64 `values` stored as `dtype` CSR without zero cells (what the batch path keeps)."""
    stored = values.astype(dtype)
    rows, cols = np.nonzero(stored)  # row-major: sorted rows, sorted columns in each
    # int32 indices, as scipy's constructor picks for a catalog-sized matrix
    indptr = np.searchsorted(rows, np.arange(len(values) + 1)).astype(np.int32)
    return csr_of(stored[rows, cols], cols.astype(np.int32), indptr, values.shape)
