"""One visit's answer: what the customer saw, clicked and bought, and what they hold after."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from recsys.columns import Events
from recsys.data.generate.catalog import SimCatalog, build_catalog, product_value
from recsys.data.generate.propensity import build_propensity
from recsys.data.generate.response import Shown, draw_responses, record_purchases
from recsys.data.generate.truth import Truth

IMPRESSION_ORDER: Final = 0  # events of a visit in the order they happen (impressions first)
CLICK_ORDER: Final = 1
PURCHASE_ORDER: Final = 2


class UnknownShownProduct(ValueError):
    """The server showed a product the generated bank does not sell (another data set?)."""


@dataclass(frozen=True)
class SimEvent:
    """One event to report; `order` ranks it within its visit (impression, click, purchase)."""

    customer_id: str
    product_id: str
    type: str
    channel: str
    request_id: str
    order: int


@dataclass(frozen=True)
class VisitOutcome:
    """The shown products' ids, those clicked and those bought, and the events to record."""

    shown: tuple[str, ...]
    clicked: tuple[str, ...]
    bought: tuple[str, ...]
    events: tuple[SimEvent, ...]


class SimulatedBank:
    """The generated bank's customers, answering by the generator's truth; keeps their state."""

    def __init__(self, truth: Truth, rng: np.random.Generator,
                 catalog: SimCatalog | None = None) -> None:
        self.truth = truth
        self.catalog = catalog or build_catalog()
        self.prop = build_propensity(self.catalog)
        self.rng = rng
        self.ids = truth.customer_ids()
        self._product = {pid: i for i, pid in enumerate(self.catalog.ids.tolist())}
        # margin per sale by product id, as the products file's `value` column says
        self.value_of = {s.product_id: product_value(s) for s in self.catalog.specs}

    def product_positions(self, product_ids: Sequence[str]) -> np.ndarray:
        """Catalog positions of product ids; an id the bank does not sell is an error."""
        try:
            return np.array([self._product[p] for p in product_ids], dtype=np.int64)
        except KeyError as exc:
            raise UnknownShownProduct(
                f"product {exc.args[0]!r} was shown but the generated bank has no such product"
                " (does the server's model come from the same --data?)"
            ) from exc

    def visit(self, customer: int, channel: str, at_us: int, shown: Sequence[str],
              request_id: str) -> VisitOutcome:
        """Impressions of `shown`, the clicks and purchases they draw; purchases are held now."""
        products = self.product_positions(shown)
        n = len(products)
        who = np.full(n, customer, dtype=np.int64)
        when = np.full(n, at_us, dtype=np.int64)
        drawn = draw_responses(self.rng, self.truth, self.catalog, self.prop,
                               Shown(who, products, when))
        bought = drawn.purchase
        record_purchases(self.truth, self.catalog, who[bought], products[bought], when[bought])
        cid = str(self.ids[customer])
        clicked = tuple(p for p, c in zip(shown, drawn.click, strict=True) if c)
        bought_ids = tuple(p for p, b in zip(shown, bought, strict=True) if b)
        events = [SimEvent(cid, p, Events.impression, channel, request_id, IMPRESSION_ORDER)
                  for p in shown]
        events += [SimEvent(cid, p, Events.click, channel, request_id, CLICK_ORDER)
                   for p in clicked]
        events += [SimEvent(cid, p, Events.purchase, channel, request_id, PURCHASE_ORDER)
                   for p in bought_ids]
        return VisitOutcome(tuple(shown), clicked, bought_ids, tuple(events))
