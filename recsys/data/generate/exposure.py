"""Events not tied to an intent: marketing impressions (and their clicks), stray views."""

from __future__ import annotations

from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.customers import CustomerArrays
from recsys.data.generate.events import EventParts, sample_channels
from recsys.data.generate.propensity import Propensity
from recsys.data.generate.sampling import sample_table, table_cdf
from recsys.data.generate.timeline import Timeline, years_of

IMPRESSIONS: Final = 2.5  # Poisson mean per consenting customer over the whole history
IMPRESSION_CLICK: Final = 0.06
CLICK_DELAY_US: Final = 600 * 1_000_000  # a click follows its impression within 10 minutes
STRAY_VIEWS: Final = 0.5  # Poisson mean per customer: browsing unrelated to any intent


def add_exposure_events(rng: np.random.Generator, parts: EventParts, cust: CustomerArrays,
                        catalog: SimCatalog, prop: Propensity, timeline: Timeline) -> None:
    """Impressions to consenting customers (suitable products only), their clicks, stray views."""
    consenting = np.flatnonzero(cust.consent)
    c = np.repeat(consenting, rng.poisson(IMPRESSIONS, len(consenting)))
    c, p, t = _place(rng, cust, catalog, prop, timeline, c, end_margin=CLICK_DELAY_US)
    # The bank only shows what the customer may buy: suitability and age limits hold.
    age = years_of(t) - cust.birth_year[c]
    ok = (catalog.risk[p] <= cust.risk_tolerance[c]) & (age >= catalog.min_age[p])
    ok &= age <= catalog.max_age[p]
    c, p, t = c[ok], p[ok], t[ok]
    channel = sample_channels(rng, cust, catalog, c, p, t)
    parts.add(c, p, "impression", t, channel=channel)
    click = rng.random(len(c)) < IMPRESSION_CLICK
    delay = rng.integers(1_000_000, CLICK_DELAY_US, int(click.sum()))
    parts.add(c[click], p[click], "click", t[click] + delay, channel=channel[click])
    stray = np.repeat(np.arange(len(cust)), rng.poisson(STRAY_VIEWS, len(cust)))
    _add_stray(rng, parts, cust, catalog, prop, timeline, stray)


def _add_stray(rng: np.random.Generator, parts: EventParts, cust: CustomerArrays,
               catalog: SimCatalog, prop: Propensity, timeline: Timeline, c: np.ndarray) -> None:
    c, p, t = _place(rng, cust, catalog, prop, timeline, c)
    parts.add(c, p, "view", t)


def _place(rng: np.random.Generator, cust: CustomerArrays, catalog: SimCatalog, prop: Propensity,
           timeline: Timeline, c: np.ndarray, end_margin: int = 0
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A popular product and a moment in the history when the customer and it both existed."""
    cdf = table_cdf(prop.base[None, :].astype(np.float64))
    p = sample_table(rng, cdf, np.zeros(len(c), np.int16))
    lo = np.maximum(np.maximum(cust.joined_us[c], timeline.start_us), catalog.active_from_us[p])
    hi = np.minimum(timeline.end_us - end_margin, catalog.active_until_us[p])
    ok = hi > lo
    c, p, lo, hi = c[ok], p[ok], lo[ok], hi[ok]
    return c, p, lo + (rng.random(len(c)) * (hi - lo)).astype(np.int64)
