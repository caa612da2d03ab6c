"""What each customer holds at a cutoff, replayed from purchase and close events.

Rules (one (customer, product) pair at a time, in time order):

- A purchase adds one unit, a close removes one. A close when nothing is held is ignored
  (left-censored data closes products bought before the data starts), so holdings never go
  below zero and a later purchase is held again.
- Repeatable products may be held several times: with consistent data the quantity is
  purchases minus closes.
- Non-repeatable products are held at most once: a second purchase while held changes
  nothing; the holding is 1 exactly when the last net move is a purchase.
- Ties: purchases and closes with the SAME timestamp are netted into one move first
  (n_purchases - n_closes). A purchase and a close at one instant therefore leave the state
  as it was: a renewal of a held product stays held, a same-instant buy-and-cancel of a
  product not held stays not held. The order of rows in the input never matters.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events

logger = logging.getLogger(__name__)

_PAIR = "_pair"
_KEYS = (C.customer_id, C.product_id)
HOLDINGS_SCHEMA = {C.customer_id: pl.String, C.product_id: pl.String, C.quantity: pl.Int32}


def holdings_at(
    events: pl.DataFrame,
    products: pl.DataFrame,
    cutoff: datetime | None,
    *,
    sort: bool = True,
) -> pl.DataFrame:
    """Holdings (customer_id, product_id, quantity >= 1) from events at or before `cutoff`.

    Rows are sorted by customer and product unless `sort=False`: callers that only build a
    matrix or join skip the string sort, seconds on millions of holdings.
    """
    _require(events, "events", (*_KEYS, C.event, C.timestamp))
    ownership = pl.col(C.event).is_in([Events.purchase, Events.close])
    if cutoff is not None:
        ownership = ownership & (pl.col(C.timestamp) <= require_aware(cutoff, "cutoff"))
    moves = events.lazy().filter(ownership).select(*_KEYS, C.event, C.timestamp).collect()
    if moves.is_empty():
        return pl.DataFrame(schema=HOLDINGS_SCHEMA)
    moves = moves.join(repeatable_flags(products, moves), on=C.product_id, how="left")
    # one integer per (customer, product) pair: the replay works on codes, not strings
    pairs = moves.select(_KEYS).unique(maintain_order=True).with_row_index(_PAIR)
    moves = moves.join(pairs, on=_KEYS, how="left")
    cells, quantity, ignored = replay(
        moves[_PAIR].to_numpy().astype(np.int64),
        moves[C.timestamp].cast(pl.Int64).to_numpy(),
        np.where(moves[C.event].to_numpy() == Events.purchase, 1, -1),
        before=np.zeros(moves.height, dtype=np.int64),
        repeatable=moves[C.repeatable].to_numpy(),
    )
    if ignored:
        logger.info("%d close event(s) found no open holding and were ignored", ignored)
    held = pairs[cells].with_columns(pl.Series(C.quantity, quantity, dtype=pl.Int32))
    held = held.filter(pl.col(C.quantity) >= 1)
    if sort:
        held = held.sort(_KEYS)
    return held.select(*_KEYS, C.quantity)


def replay(
    cell: np.ndarray,
    stamp: np.ndarray,
    delta: np.ndarray,
    *,
    before: np.ndarray,
    repeatable: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(cells, quantity after, closes ignored): every cell's moves replayed by the rules above.

    One entry per move: `cell` (an integer per customer-product pair), `stamp` (integer time),
    `delta` (+1 purchase, -1 close); `before` and `repeatable` are the move's cell's quantity
    before the moves and flag. Cells are returned ascending, one each.
    """
    empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
    if not len(cell):
        return empty
    order = np.lexsort((stamp, cell))
    cell, stamp, delta = cell[order], stamp[order], np.asarray(delta, np.int64)[order]
    instant = np.flatnonzero(np.r_[True, (cell[1:] != cell[:-1]) | (stamp[1:] != stamp[:-1])])
    net = np.add.reduceat(delta, instant)
    moved = net != 0  # a purchase and a close at one instant are no move
    if not moved.any():  # every cell's moves cancel out: nothing changes (no cell to reduce)
        return empty
    at, net = order[instant[moved]], net[moved]
    cells = cell[instant[moved]]
    start = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
    total = np.add.reduceat(net, start)
    running = np.cumsum(net)
    sizes = np.diff(np.r_[start, len(net)])
    running -= np.repeat(running[start] - net[start], sizes)  # cumulative sum per cell
    lowest = np.minimum.reduceat(running, start)
    last = net[np.r_[start[1:], len(net)] - 1]
    base = np.asarray(before, dtype=np.int64)[at[start]]
    # a close that finds nothing held is ignored: the walk from `base` is floored at zero
    floor = np.minimum(0, base + lowest)
    counted = base + total - floor
    once = (last > 0).astype(np.int64)  # held at most once: the last net move decides
    quantity = np.where(np.asarray(repeatable, dtype=bool)[at[start]], counted, once)
    return cells[start], quantity, int(-floor.sum())


def repeatable_flags(products: pl.DataFrame, moves: pl.DataFrame) -> pl.DataFrame:
    """product_id -> repeatable for the products in `moves`; unknown products raise ValueError."""
    _require(products, "products", (C.product_id,))
    has_flag = C.repeatable in products.columns
    flags = products.select(
        pl.col(C.product_id),
        pl.col(C.repeatable) if has_flag else pl.lit(False).alias(C.repeatable),
    )
    _check_flags(flags)
    unknown = (
        moves.select(C.product_id)
        .unique()
        .join(flags, on=C.product_id, how="anti")
        .sort(C.product_id)
    )
    if unknown.height:
        shown = unknown[C.product_id].head(5).to_list()
        raise ValueError(
            f"events, column {C.product_id}: {unknown.height} product(s) not in products: {shown}"
        )
    return flags.with_columns(pl.col(C.repeatable).cast(pl.Boolean))


def require_aware(moment: datetime, name: str) -> datetime:
    """`moment` in UTC; ValueError if it is naive (a naive time would be a guess at its zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (events are UTC), got naive {moment}")
    return moment.astimezone(UTC)


def _check_flags(flags: pl.DataFrame) -> None:
    nulls = flags.filter(pl.col(C.repeatable).is_null())[C.product_id].head(5).to_list()
    if nulls:
        raise ValueError(f"products, column {C.repeatable}: null for products {nulls}")
    # a duplicated product would double its events in the join with the moves
    dups = flags.filter(pl.col(C.product_id).is_duplicated())[C.product_id]
    if dups.len():
        shown = dups.unique(maintain_order=True).head(5).to_list()
        raise ValueError(f"products, column {C.product_id}: duplicated {shown}")


def _require(frame: pl.DataFrame, name: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}")
