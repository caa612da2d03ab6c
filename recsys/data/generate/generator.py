"""`generate`: run the stages of the synthetic bank in order (see the package docstring)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

import numpy as np

from recsys.data.dataset import BankData
from recsys.data.generate.browsing import add_intent_events
from recsys.data.generate.catalog import build_catalog, products_frame
from recsys.data.generate.customers import customers_frame, sample_customers
from recsys.data.generate.events import NO_CHANNEL, EventParts, events_frame, sample_channels
from recsys.data.generate.exposure import add_exposure_events
from recsys.data.generate.journeys import simulate
from recsys.data.generate.propensity import build_propensity
from recsys.data.generate.timeline import (
    DEFAULT_MONTHS,
    DEFAULT_START,
    PRE_WINDOW_STEPS,
    Timeline,
)

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""Called as (stage description, units done, units in total) after each unit of work."""

FIXED_STAGES = 5  # customers, intent events, exposure, channels, frames


def total_steps(months: int = DEFAULT_MONTHS) -> int:
    """How many progress units `generate` reports for a history of `months` months."""
    return PRE_WINDOW_STEPS + months + FIXED_STAGES


def generate(n_customers: int, seed: int, *, start: date = DEFAULT_START,
             months: int = DEFAULT_MONTHS, progress: ProgressFn | None = None) -> BankData:
    """A synthetic bank dataset: `n_customers` customers, `months` months from `start`."""
    if n_customers < 1:
        raise ValueError(f"n_customers must be >= 1, got {n_customers}")
    timeline = Timeline(start, months)
    total = total_steps(months)
    done = 0

    def tick(stage: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(stage, done, total)

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    catalog = build_catalog()
    prop = build_propensity(catalog)
    cust = sample_customers(streams[0], n_customers, timeline, catalog)
    tick("customers")
    intents = simulate(streams[1], cust, catalog, prop, timeline, tick=tick)
    parts = EventParts()
    add_intent_events(streams[2], parts, intents, cust, catalog, timeline)
    del intents
    tick("purchases, views, clicks, applications, closes")
    add_exposure_events(streams[3], parts, cust, catalog, prop, timeline)
    tick("impressions and stray views")
    cols = parts.columns()
    parts.parts.clear()  # free the pieces before the frame is built
    customer, product, _, ts, _, channel = cols
    missing = channel == NO_CHANNEL
    channel[missing] = sample_channels(streams[4], cust, catalog, customer[missing],
                                       product[missing], ts[missing])
    tick("channels")
    data = BankData(customers=customers_frame(cust), products=products_frame(),
                    events=events_frame(cols, catalog, n_customers))
    tick("tables")
    logger.debug("generated %s", data.summary())
    return data
