"""Offers into one request's top-k: targeting and consent, caps, arbitration, reserved slots.

Targeting, consent and arbitration are pure. Caps and slots need the store, which sits
behind the `Slots` port that serving implements, so this layer never reaches up into it. A
slot is reserved before the answer leaves (caps hold across processes); when a reservation
is refused (a cap filled meanwhile, the offer paused) that offer is dropped for that customer
and the answer is arbitrated again. An unreachable store costs the answer its offers, never
the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from recsys.offers.arbitrate import NO_OFFER, OfferArrays, arbitrate
from recsys.offers.model import Offer
from recsys.offers.targeting import TargetProfile, target_match
from recsys.rules.consent import offers_allowed
from recsys.rules.customers import CustomerBatch
from recsys.stores.base import StoreUnavailable

log = logging.getLogger(__name__)


class Slots(Protocol):
    """The store side of placing offers (implemented by serving for one request)."""

    def within_caps(
        self, offers: Sequence[Offer], customer_ids: Sequence[str], candidates: np.ndarray
    ) -> np.ndarray:
        """(b, m) bool: placing offer j for customer i keeps its caps (True where not a
        candidate); may raise StoreUnavailable."""
        ...

    def reserve(self, offer: Offer, customer_id: str) -> bool:
        """Take one slot of `offer` for the customer; False when a cap or a pause refuses it."""
        ...


@dataclass(frozen=True, eq=False)
class OfferRun:
    """The live offers a request may place, their product columns, and the slots port."""

    offers: tuple[Offer, ...]
    arrays: OfferArrays
    slots: Slots

    @classmethod
    def of(cls, offers: Sequence[Offer], product_index: Sequence[int], slots: Slots) -> OfferRun:
        """From offers and their products' internal ids (-1 where the catalog lacks one)."""
        return cls(tuple(offers), OfferArrays.of(offers, product_index), slots)


def eligible_for(
    offers: Sequence[Offer], profile: TargetProfile, customers: CustomerBatch, at: date
) -> np.ndarray:
    """(b, m) bool: in the offer's target, and with marketing consent (no consent, no offers)."""
    return target_match(offers, profile, at) & offers_allowed(customers)[:, None]


def place(
    run: OfferRun,
    scores: np.ndarray,
    allowed: np.ndarray,
    eligible: np.ndarray,
    customer_ids: Sequence[str],
    k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, scores, offer slots), each (b, k); `allowed` already holds every hard rule."""
    try:
        eligible = eligible & run.slots.within_caps(
            run.offers, customer_ids, candidates(run.arrays, allowed, eligible)
        )
        reserved: set[tuple[int, int]] = set()
        while True:
            ids, top, slots = arbitrate(scores, allowed, eligible, run.arrays, k)
            refused = False
            for r, j in _taken(slots):
                if (r, j) in reserved:
                    continue
                if run.slots.reserve(run.offers[j], customer_ids[r]):
                    reserved.add((r, j))
                else:  # a cap filled or the offer stopped meanwhile: without it, again
                    eligible[r, j] = False
                    refused = True
            if not refused:
                return ids, top, slots
    except StoreUnavailable as exc:
        log.warning("offers left out of the answer: %s", exc)
        return arbitrate(scores, allowed, np.zeros_like(eligible), run.arrays, k)


def candidates(arrays: OfferArrays, allowed: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(b, m) bool: eligible offers whose product every hard rule allows the customer."""
    out = eligible & (arrays.product >= 0)[None, :]
    known = arrays.product >= 0
    out[:, known] &= allowed[:, arrays.product[known]]
    return out


def _taken(slots: np.ndarray) -> list[tuple[int, int]]:
    """(row, offer index) of every slot an offer took, in row and rank order."""
    rows, positions = np.nonzero(slots != NO_OFFER)
    return list(zip(rows.tolist(), slots[rows, positions].tolist(), strict=True))
