"""Customer states brought up to date: the snapshot's rows plus the events recorded since.

Pure: the caller reads the events (EventStore.recent(ids, since=snapshot.as_of)) and passes
them in. The rules are the training-time ones, so a state overlaid here holds what a snapshot
rebuilt with these events would hold:

- holdings replay purchase/close moves on top of the snapshot quantity with
  `recsys.data.holdings.replay`, the function training derives holdings with;
- the last purchase and the last view or click of each product (what reasons cite, see
  recsys.engine.facts) move to the newest such event, as Snapshot.build keeps them;
- history adds each event's weight as `recsys.data.interactions.build_interactions` weighs it
  at `as_of` (the request time), so a purchase a second ago counts fully and older ones fade.
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
from datetime import UTC, datetime, timedelta

import numpy as np

from recsys.columns import Events
from recsys.data.holdings import replay, require_aware
from recsys.data.idmap import IdMap
from recsys.data.recent_events import RecentEvents
from recsys.engine.snapshot import BOUGHT, LOOKED
from recsys.engine.state import BatchState

logger = logging.getLogger(__name__)

_MICROS_PER_DAY = 86_400 * 1_000_000  # as recsys.data.interactions measures ages
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MOVES = {Events.purchase: 1, Events.close: -1}  # units a purchase / a close moves


def apply_events(
    state: BatchState,
    events: RecentEvents,
    *,
    product_map: IdMap,
    repeatable: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    as_of: datetime,
) -> BatchState:
    """A new state whose held and history rows include `events` (of any customers)."""
    as_of = require_aware(as_of, "as_of")
    n = len(product_map)
    if len(repeatable) != n or state.held.shape[1] != n:
        raise ValueError(
            f"catalog sizes differ: product_map {n}, repeatable {len(repeatable)}, "
            f"state {state.held.shape[1]} products"
        )
    limit = (as_of - _EPOCH) // _MICROSECOND  # the events' physical value: UTC microseconds
    position, event = _located(state.customer_ids, events, limit)
    if not len(event):
        return state
    products = np.asarray(events.product_id, dtype=object)[event]
    column = product_map.to_internal(products, strict=False)
    known = column >= 0
    if not known.all():
        shown = sorted(set(products[~known].tolist()))[:5]
        dropped = int((~known).sum())
        logger.warning("ignored %d event(s) of products not in the catalog: %s", dropped, shown)
        position, event, column = position[known], event[known], column[known]
    kinds = np.asarray(events.event, dtype=object)[event]
    stamps = np.asarray(events.micros, dtype=np.int64)[event]
    history = _history(
        state.history, position, column, kinds, stamps, weights, half_life_days, limit
    )
    held = _held(state.held, position, column, kinds, stamps, np.asarray(repeatable, dtype=bool))
    return replace(
        state,
        history=history,
        held=held,
        bought_at=_last(state.bought_at, state.held.shape, position, column, kinds, stamps, BOUGHT),
        looked_at=_last(state.looked_at, state.held.shape, position, column, kinds, stamps, LOOKED),
    )


def _last(
    moments: np.ndarray | None,
    shape: tuple[int, int],
    position: np.ndarray,
    column: np.ndarray,
    kinds: np.ndarray,
    stamps: np.ndarray,
    wanted: tuple[str, ...],
) -> np.ndarray:
    """Each cell's newest moment of a `wanted` event, the events' included (0 = never)."""
    out = np.zeros(shape, np.int64) if moments is None else moments.copy()
    hit = np.isin(kinds.astype(str), wanted)
    np.maximum.at(out, (position[hit], column[hit]), stamps[hit])
    return out


def _located(
    customer_ids: list[str], events: RecentEvents, limit: int
) -> tuple[np.ndarray, np.ndarray]:
    """(batch position, event index) of every event up to `limit` of a batch customer; a
    customer asked for twice in a batch gets its events at both positions."""
    asked = np.asarray(customer_ids, dtype=object)
    order = np.argsort(asked, kind="stable")
    ranked = asked[order]
    theirs = np.asarray(events.customer_id, dtype=object)
    first = np.searchsorted(ranked, theirs, side="left")
    count = np.searchsorted(ranked, theirs, side="right") - first
    count[np.asarray(events.micros, dtype=np.int64) > limit] = 0
    event = np.repeat(np.arange(len(theirs)), count)
    # the k-th position of event e: order[first[e] + k]
    step = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return order[np.repeat(first, count) + step], event


def _history(
    history: np.ndarray,
    position: np.ndarray,
    column: np.ndarray,
    kinds: np.ndarray,
    stamps: np.ndarray,
    weights: Mapping[str, float],
    half_life_days: float | None,
    limit: int,
) -> np.ndarray:
    """The history plus each event's weight, decayed to `limit` as build_interactions does."""
    weight = _per_kind(kinds, {k: float(w) for k, w in weights.items()}, 0.0, np.float64)
    if half_life_days is not None:
        weight = weight * 0.5 ** ((limit - stamps) / _MICROS_PER_DAY / half_life_days)
    added = np.zeros(history.shape, dtype=np.float64)
    np.add.at(added, (position, column), weight)
    return (history + added).astype(np.float32)


def _held(
    held: np.ndarray,
    position: np.ndarray,
    column: np.ndarray,
    kinds: np.ndarray,
    stamps: np.ndarray,
    repeatable: np.ndarray,
) -> np.ndarray:
    """Holdings after replaying the purchase/close moves from the snapshot quantity."""
    delta = _per_kind(kinds, _MOVES, 0, np.int64)
    moves = delta != 0
    if not moves.any():
        return held
    n = held.shape[1]
    cell = position[moves] * n + column[moves]
    flat = held.ravel()
    cells, quantity, _ = replay(
        cell, stamps[moves], delta[moves], before=flat[cell], repeatable=repeatable[column[moves]]
    )
    out = flat.copy()
    out[cells] = quantity
    return out.reshape(held.shape)


def _per_kind(kinds: np.ndarray, values: Mapping[str, float], default: float, dtype: type):
    """values[kind] for every event (`default` for kinds without one)."""
    names, inverse = np.unique(kinds.astype(str), return_inverse=True)
    return np.array([values.get(k, default) for k in names.tolist()], dtype=dtype)[inverse]
