"""Why a product was suggested: a small value object the channels turn into text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np


class ReasonCode:
    """Reason codes shared by every model (stable strings; channels may map them to icons)."""

    co_held: Final = "co_held"
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


def escape_template(value: object) -> str:
    """A literal value made safe to embed in a `Reason.text` template."""
    return str(value).replace("{", "{{").replace("}", "}}")


def co_held_reasons(items: np.ndarray, shares: np.ndarray, product: int, k: int) -> list[Reason]:
    """ "Customers who hold X often add this" for the k held items adding most to the score."""
    keep = (items != product) & (shares > 0)
    items, shares = items[keep], shares[keep]
    order = np.argsort(-shares, kind="stable")[:k]
    return [
        Reason(ReasonCode.co_held, "customers who hold {0} often add this", (int(i),), float(s))
        for i, s in zip(items[order], shares[order], strict=True)
    ]
