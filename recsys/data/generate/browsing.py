"""Events that follow from intents: purchases, the views/clicks/applies before them, closes."""

from __future__ import annotations

from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.customers import CustomerArrays
from recsys.data.generate.events import EventParts
from recsys.data.generate.journeys import CREDIT, Intents
from recsys.data.generate.timeline import DAY_US, Timeline

EXTRA_VIEWS: Final = 0.8  # Poisson mean of views on top of the one every intent has
VIEW_DAYS: Final = 14  # views happen up to this many days before the intent's moment
CLICK_BOUGHT: Final = 0.35
CLICK_BROWSED: Final = 0.25
CLICK_DAYS: Final = 3
APPLY_BOUGHT: Final = 0.9  # credit products are applied for first
APPLY_BROWSED: Final = 0.3  # declined or abandoned applications
APPLY_DAYS: Final = 10
# Purchase amount multiplier per income band ("none" first, then INCOME_BANDS order).
AMOUNT_BY_INCOME: Final = np.array([0.3, 0.5, 0.75, 1.0, 1.6, 3.0])


def add_intent_events(rng: np.random.Generator, parts: EventParts, intents: Intents,
                      cust: CustomerArrays, catalog: SimCatalog, timeline: Timeline) -> None:
    """Purchases (with amounts), views, clicks and applications, and closes."""
    bought = intents.purchased
    amount = _amounts(rng, cust, catalog, intents.customer[bought], intents.product[bought])
    parts.add(intents.customer[bought], intents.product[bought], "purchase", intents.ts[bought],
              amount=amount)
    browsing = intents.browsed
    c, p, t = intents.customer[browsing], intents.product[browsing], intents.ts[browsing]
    done = bought[browsing]
    # Nothing is browsed before the customer joined, the product went on sale or the click log
    # began (the window's start).
    lo = np.maximum(np.maximum(cust.joined_us[c], catalog.active_from_us[p]), timeline.start_us)
    _add_views(rng, parts, c, p, t, lo)
    click = rng.random(len(c)) < np.where(done, CLICK_BOUGHT, CLICK_BROWSED)
    parts.add(c[click], p[click], "click", _before(rng, t[click], lo[click], CLICK_DAYS))
    credit = np.isin([s.category for s in catalog.specs], CREDIT)[p]
    apply = credit & (rng.random(len(c)) < np.where(done, APPLY_BOUGHT, APPLY_BROWSED))
    parts.add(c[apply], p[apply], "apply", _before(rng, t[apply], lo[apply], APPLY_DAYS))
    _add_closes(rng, parts, catalog, timeline, intents.customer[bought], intents.product[bought],
                intents.ts[bought])


def _add_views(rng: np.random.Generator, parts: EventParts, c: np.ndarray, p: np.ndarray,
               t: np.ndarray, lo: np.ndarray) -> None:
    repeat = 1 + rng.poisson(EXTRA_VIEWS, len(c))
    c, p, t, lo = (np.repeat(a, repeat) for a in (c, p, t, lo))
    parts.add(c, p, "view", _before(rng, t, lo, VIEW_DAYS))


def _before(rng: np.random.Generator, t: np.ndarray, lo: np.ndarray, days: int) -> np.ndarray:
    """A moment in [max(t - days, lo), t]: shortly before the intent, never before `lo`."""
    span = np.minimum(days * DAY_US, t - lo)
    return t - (rng.random(len(t)) * span).astype(np.int64)


def _amounts(rng: np.random.Generator, cust: CustomerArrays, catalog: SimCatalog,
             c: np.ndarray, p: np.ndarray) -> np.ndarray:
    scale = catalog.amount[p] * AMOUNT_BY_INCOME[cust.income[c] + 1]
    return np.round(scale * rng.lognormal(0.0, 0.5, len(c)), 2)


def _add_closes(rng: np.random.Generator, parts: EventParts, catalog: SimCatalog,
                timeline: Timeline, c: np.ndarray, p: np.ndarray, t: np.ndarray) -> None:
    """Some purchases are closed later (term deposits at maturity); only closes in the past."""
    closing = rng.random(len(c)) < catalog.close_prob[p]
    c, p, t = c[closing], p[closing], t[closing]
    low, high = catalog.close_days[p, 0], catalog.close_days[p, 1]
    days = low + (rng.random(len(c)) * (high - low + 1)).astype(np.int64)
    when = t + days * DAY_US + rng.integers(0, DAY_US, len(c))
    seen = when < timeline.end_us
    parts.add(c[seen], p[seen], "close", when[seen])
