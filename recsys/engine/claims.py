"""Reasons as claims: each says one true thing about the customer, under a stable code.

A model's reason is evidence (a product that adds to the score, a profile feature, a
segment's rate); what the customer reads is a claim, named for what it is:

- `recent:PRODUCT` "you recently opened X; ...": bought within reason_recent_days;
- `hold:PRODUCT` "you hold X; ...": held now;
- `looked:PRODUCT` "you looked at X; ...": viewed or clicked;
- `segment_popular` "popular in your segment (S)": the customer's own segment;
- `popular_like_you` "popular with customers like you (F)": a profile feature of theirs,
  or, without one, the generic fallback;
- `offer:OFFER` "offer: NAME": an offer placed or raised the item;
- `explore` "new: we think this may suit you": exploration placed a new product
  (recsys.exploration), to learn whether it suits.

A product cited by a model becomes the strongest claim the facts (recsys.engine.facts)
support, recent before hold before looked, or no claim at all; a product is never a reason
for itself. A suggestion left with no claim gets the generic `popular_like_you`. The codes
are what `recsys audit`, the gRPC response and the decision log carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import numpy as np

from recsys.models.reason import Reason, ReasonCode


class ShownReason(NamedTuple):
    """Why an item is suggested: a stable code and a sentence for the channel to show."""

    code: str
    text: str


class Claim:
    """Claim kinds: a code is the kind, or `kind:ID` for a product's or an offer's."""

    recent: Final = "recent"
    hold: Final = "hold"
    looked: Final = "looked"
    segment_popular: Final = "segment_popular"
    popular_like_you: Final = "popular_like_you"
    offer: Final = "offer"
    explore: Final = "explore"

    all: Final = (
        "recent",
        "hold",
        "looked",
        "segment_popular",
        "popular_like_you",
        "offer",
        "explore",
    )


PRODUCT_TEXTS: Final = {
    # short: a batch answer carries one per reason (RequestLimits.max_batch_items)
    Claim.recent: "you recently opened {}; often taken next",
    Claim.hold: "you hold {}; often added to it",
    Claim.looked: "you looked at {}",
}
GENERIC: Final = ShownReason(Claim.popular_like_you, "popular with customers like you")


def kind_of(code: str) -> str:
    """The claim kind of a code (`hold:P01` -> `hold`)."""
    return code.split(":", 1)[0]


def offer_claim(offer_id: str, name: str) -> ShownReason:
    """The claim of an item an offer placed or raised."""
    return ShownReason(f"{Claim.offer}:{offer_id}", f"offer: {name}")


def product_claim(
    product: int, recent: np.ndarray, held: np.ndarray, looked: np.ndarray
) -> str | None:
    """The strongest claim kind the facts (one row each) support about `product`, or None."""
    if recent[product]:
        return Claim.recent
    if held[product]:
        return Claim.hold
    if looked[product]:
        return Claim.looked
    return None


def claims(
    found: Sequence[Reason],
    product: int,
    facts: tuple[np.ndarray, np.ndarray, np.ndarray],
    product_ids: Sequence[str],
    names: Sequence[str],
) -> tuple[ShownReason, ...]:
    """The true claims among a model's reasons for `product`, strongest first, one per code;
    the generic one when none is left. `facts`: the customer's (recent, held, looked) rows."""
    out: dict[str, ShownReason] = {}
    for reason in found:
        shown = _claim(reason, product, facts, product_ids, names)
        if shown is not None and shown.code not in out:
            out[shown.code] = shown
    return tuple(out.values()) or (GENERIC,)


def _claim(
    reason: Reason,
    product: int,
    facts: tuple[np.ndarray, np.ndarray, np.ndarray],
    product_ids: Sequence[str],
    names: Sequence[str],
) -> ShownReason | None:
    if reason.related_products:
        (cited,) = reason.related_products  # models cite one product per reason
        kind = product_claim(cited, *facts) if cited != product else None
        if kind is None:
            return None
        return ShownReason(f"{kind}:{product_ids[cited]}", PRODUCT_TEXTS[kind].format(names[cited]))
    # their texts are templates without products: render() unescapes them
    if reason.code == ReasonCode.popular_segment:
        return ShownReason(Claim.segment_popular, reason.render(names.__getitem__))
    if reason.code == ReasonCode.similar_profile:
        return ShownReason(Claim.popular_like_you, reason.render(names.__getitem__))
    return None  # "popular": the generic claim, when nothing better is left
