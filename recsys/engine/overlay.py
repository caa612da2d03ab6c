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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.data.holdings import net_moves, require_aware
from recsys.data.idmap import IdMap
from recsys.data.interactions import build_interactions
from recsys.engine.state import BatchState

logger = logging.getLogger(__name__)

_POSITION = "_position"  # row of the batch (a customer may appear twice in a batch)
_COLUMN = "_column"  # internal product id


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
    as_of = require_aware(as_of, "as_of")
    n = len(product_map)
    if len(repeatable) != n or state.held.shape[1] != n:
        raise ValueError(
            f"catalog sizes differ: product_map {n}, repeatable {len(repeatable)}, "
            f"state {state.held.shape[1]} products"
        )
    located = _locate(state, events, product_map, as_of)
    if located.is_empty():
        return state
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
        keyed, customers=rows, products=cols, weights=weights,
        half_life_days=half_life_days, as_of=as_of,
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
