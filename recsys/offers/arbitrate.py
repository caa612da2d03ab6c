"""Offers into a top-k, after the hard rules: boosts and pins by priority, within slot shares.

Pure arrays in, arrays out. The caller passes `allowed` with every hard rule already applied
and `eligible` with targeting, channel, schedule, consent and caps; an offer whose product
`allowed` forbids for a customer is dropped here again, so no path can place it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recsys.offers.model import Action, Offer
from recsys.rules.topk import PAD_ID, masked_topk

NO_OFFER = -1
_MIN_MAGNITUDE = np.float32(1e-6)  # a zero score still rises when boosted


@dataclass(frozen=True, eq=False)
class OfferArrays:
    """The offers of one request as aligned (m,) arrays (product ids internal, -1 unknown)."""

    product: np.ndarray  # int64
    pin: np.ndarray  # int32: 1-based position, 0 = boost
    boost: np.ndarray  # float32: factor (> 1) of a boost, 1 for a pin
    priority: np.ndarray  # int64
    max_share: np.ndarray  # float64

    def __len__(self) -> int:
        return len(self.product)

    @classmethod
    def of(cls, offers: Sequence[Offer], product_index: Sequence[int]) -> OfferArrays:
        """From offers and their products' internal ids (-1 where the catalog lacks one)."""
        return cls(
            product=np.asarray(product_index, dtype=np.int64),
            pin=np.array([(o.pin or 0) if o.action == Action.pin else 0 for o in offers], np.int32),
            boost=np.array(
                [o.boost if o.action == Action.boost else 1.0 for o in offers], np.float32
            ),
            priority=np.array([o.priority for o in offers], dtype=np.int64),
            max_share=np.array([o.max_share for o in offers], dtype=np.float64),
        )


def boosted(scores: np.ndarray, factor: np.ndarray | float) -> np.ndarray:
    """Scores raised by `factor` (> 1) whatever their sign: s + (factor - 1) * |s|."""
    s = np.asarray(scores, dtype=np.float32)
    return s + (np.float32(factor) - 1) * np.maximum(np.abs(s), _MIN_MAGNITUDE)


def offer_slots(max_share: float, k: int) -> int:
    """How many of an answer's k slots offers may fill when this offer is among them."""
    return math.floor(max_share * k + 1e-9)


def arbitrate(
    scores: np.ndarray,
    allowed: np.ndarray,
    eligible: np.ndarray,
    offers: OfferArrays,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, scores, slots), each (b, k): top-k with offers placed; slots = offer index or -1.

    Per customer, offers go in priority order (ties: lower index); one offer per product; an
    offer is taken only while the answer's offer items stay within the `offer_slots` of
    every offer taken (its own included). A pin
    takes its position (or the next free one), a boost multiplies the product's score and
    counts as the offer's item only if the product lands in the top-k.
    """
    scores = np.asarray(scores, dtype=np.float32)
    allowed = np.asarray(allowed, dtype=bool)
    b = scores.shape[0]
    usable = np.asarray(eligible, dtype=bool).copy()
    if len(offers):
        known = offers.product >= 0
        usable &= known[None, :]
        usable[:, known] &= allowed[:, offers.product[known]]
    ids, top = masked_topk(scores, allowed, k)
    slots = np.full((b, k), NO_OFFER, dtype=np.int32)
    rows = np.flatnonzero(usable.any(axis=1)) if len(offers) else np.empty(0, dtype=np.int64)
    if not len(rows):
        return ids, top, slots
    order = np.lexsort((np.arange(len(offers)), -offers.priority))
    for r in rows.tolist():
        ids[r], top[r], slots[r] = _row(scores[r], allowed[r], usable[r], offers, order, k)
    return ids, top, slots


def _row(
    scores: np.ndarray,
    allowed: np.ndarray,
    usable: np.ndarray,
    offers: OfferArrays,
    order: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    taken_products: set[int] = set()
    pins: list[int] = []
    boosts: list[int] = []
    room = k  # offer items the answer may hold: the tightest share of the offers taken
    for j in order.tolist():
        product = int(offers.product[j])
        if not usable[j] or product in taken_products:
            continue
        limit = min(room, offer_slots(float(offers.max_share[j]), k))
        if len(pins) + len(boosts) + 1 > limit:
            continue
        room = limit
        taken_products.add(product)
        (pins if offers.pin[j] > 0 else boosts).append(j)
    adjusted = scores.copy()
    for j in boosts:
        p = offers.product[j]
        adjusted[p] = boosted(adjusted[p], offers.boost[j])
    organic_ok = allowed.copy()
    for j in pins:
        organic_ok[offers.product[j]] = False
    organic, organic_scores = masked_topk(adjusted[None, :], organic_ok[None, :], k)
    ids = np.full(k, PAD_ID, dtype=np.int32)
    top = np.full(k, -np.inf, dtype=np.float32)
    slots = np.full(k, NO_OFFER, dtype=np.int32)
    for j in pins:
        pos = _free_position(ids, min(int(offers.pin[j]), k) - 1)
        ids[pos], top[pos], slots[pos] = offers.product[j], scores[offers.product[j]], j
    free = np.flatnonzero(ids == PAD_ID)
    fill = organic[0][organic[0] != PAD_ID][: len(free)]
    ids[free[: len(fill)]] = fill
    top[free[: len(fill)]] = organic_scores[0][: len(fill)]
    boost_of = {int(offers.product[j]): j for j in boosts}
    for pos in free[: len(fill)].tolist():
        if int(ids[pos]) in boost_of:
            slots[pos] = boost_of[int(ids[pos])]
    keep = ids != PAD_ID  # fewer items than k: close the gaps, keep the order
    n = int(keep.sum())
    out = (
        np.full(k, PAD_ID, np.int32),
        np.full(k, -np.inf, np.float32),
        np.full(k, NO_OFFER, np.int32),
    )
    out[0][:n], out[1][:n], out[2][:n] = ids[keep], top[keep], slots[keep]
    return out


def _free_position(ids: np.ndarray, wanted: int) -> int:
    """`wanted` if free, else the next free position after it, else the last free before."""
    free = np.flatnonzero(ids == PAD_ID)
    after = free[free >= wanted]
    return int(after[0]) if len(after) else int(free[-1])
