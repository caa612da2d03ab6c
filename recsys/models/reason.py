"""Why a product was suggested: a small value object the channels turn into text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np


class ReasonCode:
    """What kind of evidence a model's reason is (recsys.engine.claims turns it into the claim
    a customer reads, under the claim's own code)."""

    co_held: Final = "co_held"  # a product of the customer's (related_products) adds to it
    popular_segment: Final = "popular_segment"
    similar_profile: Final = "similar_profile"
    popular: Final = "popular"
    offer: Final = "offer"  # placed or raised by a marketing offer


@dataclass(frozen=True)
class Reason:
    """One reason for one suggestion.

    `text` is a str.format template: `{0}`, `{1}`... stand for `related_products` (internal
    product ids), because models know ids, not names; `render` fills the names in.
    """

    code: str
    text: str
    related_products: tuple[int, ...] = ()
    weight: float = 0.0  # the reason's share of the score, for ordering and display

    def render(self, product_name: Callable[[int], str]) -> str:
        """The text with related product names filled in."""
        return self.text.format(*(product_name(p) for p in self.related_products))


CO_HELD_TEXT: Final = "customers who hold {0} often add this"
POPULAR: Final = Reason(ReasonCode.popular, "popular with our customers")


def escape_template(value: object) -> str:
    """A literal value made safe to embed in a `Reason.text` template."""
    return str(value).replace("{", "{{").replace("}", "}}")


def strongest(weights: np.ndarray, valid: np.ndarray, k: int) -> list[list[tuple[int, float]]]:
    """Per column (a product), its up to k valid rows (candidate reasons) by weight.

    (row, weight) pairs, strongest first, equal weights in row order. Each column is sorted
    on its own, so a product's answer does not depend on which other products are asked.
    """
    # invalid candidates sort last; a stable sort keeps row order among equal weights
    keys = np.where(valid, -weights, np.inf)
    order = np.argsort(keys, axis=0, kind="stable")[:k]
    best = np.take_along_axis(keys, order, axis=0).T
    return [
        [(row, -key) for row, key in zip(rows, keys, strict=True) if key != np.inf]
        for rows, keys in zip(order.T.tolist(), best.tolist(), strict=True)
    ]


def co_held_many(
    items: np.ndarray,
    shares: np.ndarray,
    products: Sequence[int],
    k: int,
    citable: np.ndarray | None = None,
) -> list[list[Reason]]:
    """ "Customers who hold X often add this" for each product: the k held items adding most.

    `shares[i, j]`: held item `items[i]`'s share of the score of `products[j]`; an item is
    no reason for itself, only positive shares are reasons, and only `citable` items ((n,)
    bool, None = all) may be named.
    """
    cols = np.asarray(products, dtype=np.int64)
    items = np.asarray(items)
    valid = (items[:, None] != cols[None, :]) & (shares > 0)
    if citable is not None:
        valid &= np.asarray(citable, dtype=bool)[items][:, None]
    held = np.asarray(items).tolist()
    return [
        [Reason(ReasonCode.co_held, CO_HELD_TEXT, (held[i],), w) for i, w in picks]
        for picks in strongest(shares, valid, k)
    ]


def co_held_reasons(
    items: np.ndarray,
    shares: np.ndarray,
    product: int,
    k: int,
    citable: np.ndarray | None = None,
) -> list[Reason]:
    """`co_held_many` of one product (`shares`: each held item's share of its score)."""
    return co_held_many(items, np.asarray(shares)[:, None], [product], k, citable)[0]
