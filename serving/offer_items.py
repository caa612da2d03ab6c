"""Items an offer placed or raised: their `offer_id`, and "offer: <name>" as the first reason."""

from __future__ import annotations

from collections.abc import Sequence

from recsys.engine.engine import Suggestions
from recsys.models.reason import ReasonCode
from recsys.offers.arbitrate import NO_OFFER
from recsys.offers.model import Offer
from serving.domain import Item, ItemReason

MODEL_REASONS_WITH_OFFER = 1  # an offer item keeps the model's strongest reason after its own


def with_offers(
    items: tuple[Item, ...], out: Suggestions, row: int, offers: Sequence[Offer]
) -> tuple[Item, ...]:
    """`items` (row `row` of `out`) with the offer fields of the slots offers took."""
    if out.offers is None:
        return items
    slots = out.offers[row]
    if not (slots != NO_OFFER).any():
        return items
    marked = list(items)
    for i, item in enumerate(items):
        j = int(slots[i])
        if j == NO_OFFER:
            continue
        offer = offers[j]
        reason = ItemReason(ReasonCode.offer, f"offer: {offer.name}")
        marked[i] = item._replace(
            offer_id=offer.id,
            reasons=(reason, *item.reasons[:MODEL_REASONS_WITH_OFFER]),
        )
    return tuple(marked)
