"""Find closes of products the customer does not hold: no earlier purchase left to close.

Per (customer, product), purchases (+1) and closes (-1) are replayed in time order; a purchase
and a close at the same instant count as purchase first. A close is wrong when nothing is held
at that moment. A wrong close is then ignored, the way holdings ignore it, so one bad close
does not make every later, valid close of the pair look wrong too.

With `held` the running sum of moves, the clamped replay finds a close wrong exactly when
`held` drops below every earlier value of the pair and below 0 (a new record low). The whole
check is a sort and a few global scans: no per-pair window functions, which are slow with
millions of small pairs.
"""

from __future__ import annotations

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events

SHOWN = "shown"  # "customer/product" of each wrong close

_PAIR = [C.customer_id, C.product_id]
_DELTA = "delta"  # +1 purchase, -1 close
_NEW = "new_pair"  # first move of a pair in sorted order
_PAIR_NO = "pair_no"
_TOTAL = "total"  # running sum over ALL pairs
_HELD = "held"  # running sum within the pair (may dip below zero)
_BEFORE = "held_before"  # held before this move (0 at the pair's first move)
_FLOOR = "floor"  # lowest held before this move within the pair, at most 0


def close_without_holding_query(events: pl.DataFrame) -> pl.LazyFrame:
    """Rows (1-based) and customer/product of closes that find nothing held at that time."""
    ownership = pl.col(C.event).is_in([Events.purchase, Events.close])
    delta = pl.when(pl.col(C.event) == Events.purchase).then(1).otherwise(-1).cast(pl.Int64)
    # an event of unreadable type might be a purchase: keep it so its pair can be skipped
    moves = (
        events.lazy().with_row_index(C.row, offset=1).filter(ownership | pl.col(C.event).is_null())
    )
    if _has_missing_cells(events):
        moves = moves.filter(~_unreadable_history())
    return (
        moves.select(C.row, *_PAIR, C.timestamp, delta.alias(_DELTA))
        # the row last: closes at one instant are matched in file order, so the same rows are
        # reported on every run (a multi-key sort is not stable otherwise)
        .sort([*_PAIR, C.timestamp, _DELTA, C.row], descending=[False, False, False, True, False])
        .pipe(_replay)
        .filter(pl.col(_HELD) < pl.col(_FLOOR))
        .select(C.row, pl.concat_str(_PAIR, separator="/").alias(SHOWN))
        .sort(C.row)
    )


def _replay(moves: pl.LazyFrame) -> pl.LazyFrame:
    """Add `held` and `floor` to moves sorted by pair then time, using global scans only."""
    new_pair = pl.any_horizontal([pl.col(c) != pl.col(c).shift() for c in _PAIR]).fill_null(True)
    pair_start_total = pl.when(pl.col(_NEW)).then(pl.col(_TOTAL) - pl.col(_DELTA)).forward_fill()
    # cum_min must restart at each pair: lowering pair k by k * stride (stride > any range of
    # held) puts every pair below all earlier ones, so the global running min is the pair's own
    stride = 2 * pl.len().cast(pl.Int64) + 1
    lowered = pl.col(_BEFORE) - pl.col(_PAIR_NO) * stride
    return (
        moves.with_columns(new_pair.alias(_NEW), pl.col(_DELTA).cum_sum().alias(_TOTAL))
        .with_columns(
            pl.col(_NEW).cum_sum().cast(pl.Int64).alias(_PAIR_NO),
            (pl.col(_TOTAL) - pair_start_total).alias(_HELD),
        )
        .with_columns(pl.when(pl.col(_NEW)).then(0).otherwise(pl.col(_HELD).shift()).alias(_BEFORE))
        .with_columns((lowered.cum_min() + pl.col(_PAIR_NO) * stride).alias(_FLOOR))
    )


def _has_missing_cells(events: pl.DataFrame) -> bool:
    counts = events.select(pl.col(*_PAIR, C.event, C.timestamp).null_count()).row(0)
    return any(counts)


def _unreadable_history() -> pl.Expr:
    """Moves of a customer/product history that cannot be replayed because a cell is missing.

    Those cells are reported already; replaying without them would accuse valid closes.
    """
    customer, product = (pl.col(c) for c in _PAIR)
    unknown_move = pl.col(C.timestamp).is_null() | pl.col(C.event).is_null()
    return (
        unknown_move.any().over(_PAIR)
        | product.is_null().any().over(C.customer_id)
        | customer.is_null().any().over(C.product_id)
    )
