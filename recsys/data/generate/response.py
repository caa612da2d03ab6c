"""How a generated customer answers a shown product: the generator's own propensities.

The generator's journeys (journeys.py) give each customer c at instant t

    rate(c, t)  intents per month: BASE_INTENT * activity * (1 + BURST * 2^(-months since
                the last purchase / BURST_HALF_LIFE))
    q(c, p, t)  the chance an intent is for product p: `choice_weights` (eligibility x profile
                x successors of the last two purchases, fading with recency) over their sum

so h(c, p, t) = rate * q is the customer's monthly rate of wanting p. Shown p, the customer

    has the intent now with P(intent) = 1 - exp(-HORIZON_MONTHS * h): an impression brings
        forward an intent the customer would have formed within HORIZON_MONTHS;
    clicks when intending, or out of curiosity with IMPRESSION_CLICK (the generator's click
        rate of an impression, exposure.py) otherwise:
        P(click) = 1 - (1 - IMPRESSION_CLICK) * (1 - P(intent));
    buys only out of an intent, converting as the generator's intents do (CONVERT, lower for
        credit: CONVERT_CREDIT): P(purchase | click) = conversion[p] * P(intent) / P(click).

A product the generator makes likelier for the customer (a larger h) is therefore clicked
and bought more often; a product the customer may not buy (unsuitable, outside its age
limits or sale window, a non-repeatable one already held) has h = 0, and is clicked only out
of curiosity and never bought. Nothing here reads a model's scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.exposure import IMPRESSION_CLICK
from recsys.data.generate.journeys import (
    apply_purchases,
    choice_weights,
    conversion,
    intent_rate,
)
from recsys.data.generate.propensity import Propensity
from recsys.data.generate.truth import Truth

HORIZON_MONTHS: Final = 3.0  # how far ahead an impression pulls a customer's intent


@dataclass(frozen=True)
class Shown:
    """Products shown to customers: aligned arrays of customer and product positions."""

    customer: np.ndarray  # int, positions in the truth
    product: np.ndarray  # int, positions in the catalog
    at_us: np.ndarray  # int64 instant of the impression


def intent_per_month(truth: Truth, catalog: SimCatalog, prop: Propensity,
                     shown: Shown) -> np.ndarray:
    """h(c, p, t): each shown customer's monthly rate of wanting the shown product."""
    who = np.asarray(shown.customer, dtype=np.int64)
    at = np.asarray(shown.at_us, dtype=np.int64)
    weights = choice_weights(truth.customers, catalog, prop, truth.state, who, at)
    total = weights.sum(axis=1, dtype=np.float64)
    mine = weights[np.arange(len(who)), shown.product].astype(np.float64)
    share = np.divide(mine, total, out=np.zeros_like(mine), where=total > 0)
    return intent_rate(truth.customers, truth.state, who, at) * share


def intent_probability(truth: Truth, catalog: SimCatalog, prop: Propensity,
                       shown: Shown) -> np.ndarray:
    """P(intent | shown product) = 1 - exp(-HORIZON_MONTHS * h)."""
    return -np.expm1(-HORIZON_MONTHS * intent_per_month(truth, catalog, prop, shown))


def click_probability(p_intent: np.ndarray) -> np.ndarray:
    """P(click | shown product): intending, or curious at the generator's impression CTR."""
    return 1.0 - (1.0 - IMPRESSION_CLICK) * (1.0 - p_intent)


def purchase_given_click(p_intent: np.ndarray, product: np.ndarray,
                         catalog: SimCatalog) -> np.ndarray:
    """P(purchase | click): only an intent buys, at the generator's conversion rate."""
    return conversion(catalog)[product] * p_intent / click_probability(p_intent)


@dataclass(frozen=True)
class Responses:
    """What each shown product drew: a click, and a purchase (which implies the click)."""

    click: np.ndarray  # bool
    purchase: np.ndarray  # bool


def draw_responses(rng: np.random.Generator, truth: Truth, catalog: SimCatalog,
                   prop: Propensity, shown: Shown) -> Responses:
    """Clicks and purchases for shown products, drawn by the process in the docstring."""
    p_intent = intent_probability(truth, catalog, prop, shown)
    n = len(p_intent)
    intent = rng.random(n) < p_intent
    curious = rng.random(n) < IMPRESSION_CLICK
    converts = rng.random(n) < conversion(catalog)[shown.product]
    return Responses(click=intent | curious, purchase=intent & converts)


def record_purchases(truth: Truth, catalog: SimCatalog, customer: np.ndarray,
                     product: np.ndarray, at_us: np.ndarray) -> None:
    """Purchases change the truth's state as in the generator (one at a time, in order)."""
    for c, p, t in zip(customer, product, at_us, strict=True):
        apply_purchases(truth.state, catalog, np.array([c]), np.array([p], np.int16),
                        np.array([t], np.int64))
