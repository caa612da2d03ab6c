"""Step-by-step simulation of every customer at once: intents, product choice, purchases.

Steps are 6 months long in the 12 years before the window (at half the intent rate; only the
purchases are kept, as a product ledger) and one month long inside it. In each step, every
customer who has joined forms at most one intent, with probability 1 - exp(-rate * months),
where the rate depends on their activity and on how recently they last bought (bursts after
a purchase). The intent's product is drawn by inverse CDF over

    eligible(c, p, t) * profile(segment, age band, income)[p]
        * (a1 * T[last, p] + a2 * T[previous, p] + (1 - a1 - a2) * base[p])

where a1 and a2 fade with the time since the last and the previous purchase. `eligible` is
the hard rule set: risk rating <= risk tolerance, calendar age within the product's limits,
product on sale at t, and a non-repeatable product not bought before. An intent becomes a
purchase with a product-dependent probability; otherwise it stays browsing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from recsys.data.generate.catalog import SimCatalog
from recsys.data.generate.customers import CustomerArrays, age_band
from recsys.data.generate.propensity import Propensity
from recsys.data.generate.sampling import sample_rows
from recsys.data.generate.timeline import DAY_US, Timeline, years_of

MONTH_US: Final = 30.44 * DAY_US
BASE_INTENT: Final = 0.075  # monthly intent probability at activity 1, long after a purchase
BURST: Final = 1.5  # extra intent rate right after a purchase (life events cluster)
BURST_HALF_LIFE: Final = 3.0  # months
ALPHA_LAST: Final = 0.85  # weight of the last product's successors right after buying it
ALPHA_PREVIOUS: Final = 0.1  # weight of the product bought before that
RECENCY_HALF_LIFE: Final = 12.0  # months for the successor pull to halve
PRE_WINDOW_INTENT: Final = 0.5  # customers were less active in the years before the window
CONVERT: Final = 0.6
CONVERT_CREDIT: Final = 0.45  # credit applications are sometimes declined
CREDIT: Final = ("credit_card", "personal_loan", "mortgage", "auto_loan")
CHUNK: Final = 100_000  # customers per weight matrix: bounds memory at CHUNK x products


@dataclass(frozen=True)
class Intents:
    """Every intent of the simulation, onboarding purchases first, then in time order."""

    customer: np.ndarray  # int32
    product: np.ndarray  # int16
    ts: np.ndarray  # int64 microseconds
    purchased: np.ndarray  # bool
    browsed: np.ndarray  # bool: in-window intent whose views/clicks/applies are recorded


@dataclass
class _State:
    last: np.ndarray
    last_us: np.ndarray
    previous: np.ndarray
    previous_us: np.ndarray
    held: np.ndarray  # bool (customers, products): non-repeatable products ever bought


def simulate(rng: np.random.Generator, cust: CustomerArrays, catalog: SimCatalog, prop: Propensity,
             timeline: Timeline, tick: Callable[[str], None] = lambda _: None) -> Intents:
    """Run the simulation; return the intents on record (all in the window, purchases before)."""
    n = len(cust)
    state = _State(
        last=cust.onboarding.astype(np.int16), last_us=cust.joined_us.copy(),
        previous=np.full(n, -1, np.int16), previous_us=cust.joined_us.copy(),
        held=np.zeros((n, len(catalog)), dtype=bool),
    )
    state.held[np.arange(n), cust.onboarding] = ~catalog.repeatable[cust.onboarding]
    convert = np.where(np.isin([s.category for s in catalog.specs], CREDIT), CONVERT_CREDIT,
                       CONVERT)
    steps = [_onboarding_intents(cust)]
    bounds = timeline.step_bounds_us()
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        in_window = lo >= timeline.start_us
        scale = 1.0 if in_window else PRE_WINDOW_INTENT
        who = _who_intends(rng, cust, state, int(lo), scale * (hi - lo) / MONTH_US)
        ts = lo + rng.integers(0, hi - lo, len(who))
        product = _choose_all(rng, cust, catalog, prop, state, who, ts)
        ok = product >= 0  # customers with nothing left they may buy
        who, ts, product = who[ok], ts[ok], product[ok]
        bought = rng.random(len(who)) < convert[product]
        _apply_purchases(state, catalog, who[bought], product[bought], ts[bought])
        # before the window only purchases are on record (the click log starts with it)
        keep = np.ones(len(who), bool) if in_window else bought
        steps.append((who[keep].astype(np.int32), product[keep], ts[keep], bought[keep],
                      np.full(int(keep.sum()), in_window)))
        tick("journeys: the window, month by month" if in_window else "journeys: earlier years")
    return Intents(*(np.concatenate(parts) for parts in zip(*steps, strict=True)))


def _onboarding_intents(cust: CustomerArrays) -> tuple[np.ndarray, ...]:
    n = len(cust)
    return (np.arange(n, dtype=np.int32), cust.onboarding.astype(np.int16), cust.joined_us,
            np.ones(n, bool), np.zeros(n, bool))


def _who_intends(rng: np.random.Generator, cust: CustomerArrays, state: _State,
                 step_start: int, exposure_months: float) -> np.ndarray:
    since = (step_start - state.last_us) / MONTH_US
    rate = BASE_INTENT * cust.activity * (1.0 + BURST * np.exp2(-since / BURST_HALF_LIFE))
    # at most one intent per step: P(at least one) of a Poisson process over the step
    chance = -np.expm1(-rate * exposure_months)
    joined = cust.joined_us < step_start
    return np.flatnonzero(joined & (rng.random(len(rate)) < chance))


def _choose_all(rng: np.random.Generator, cust: CustomerArrays, catalog: SimCatalog,
                prop: Propensity, state: _State, who: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """`_choose` in chunks of CHUNK customers, as int16 (-1 = nothing eligible)."""
    chosen = [_choose(rng, cust, catalog, prop, state, who[i:i + CHUNK], ts[i:i + CHUNK])
              for i in range(0, len(who), CHUNK)]
    return np.concatenate(chosen).astype(np.int16) if chosen else np.zeros(0, np.int16)


def _choose(rng: np.random.Generator, cust: CustomerArrays, catalog: SimCatalog, prop: Propensity,
            state: _State, who: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Product index per intending customer (-1 when nothing is eligible)."""
    age = years_of(ts) - cust.birth_year[who]
    group = prop.profile_group(cust.segment[who], age_band(age), cust.income[who])
    a1 = ALPHA_LAST * _fade(ts - state.last_us[who])
    prev = state.previous[who]
    a2 = np.where(prev >= 0, ALPHA_PREVIOUS * _fade(ts - state.previous_us[who]), 0)
    a2 = a2.astype(np.float32)
    # float32 throughout: these (customers x products) matrices are the hot path
    mix = a1[:, None] * prop.transition[state.last[who]]
    mix += a2[:, None] * prop.transition[np.maximum(prev, 0)]
    mix += (1 - a1 - a2)[:, None] * prop.base[None, :]
    mix *= prop.profile[group]
    mix *= _eligible(catalog, cust, state, who, ts, age)
    return sample_rows(rng, mix)


def _fade(elapsed_us: np.ndarray) -> np.ndarray:
    """Successor pull left after `elapsed_us`: halves every RECENCY_HALF_LIFE months."""
    return np.exp2(-(elapsed_us / (RECENCY_HALF_LIFE * MONTH_US)).astype(np.float32))


def _eligible(catalog: SimCatalog, cust: CustomerArrays, state: _State, who: np.ndarray,
              ts: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The hard rules: suitability, age limits, sale window, non-repeatables bought once."""
    ok = catalog.risk[None, :] <= cust.risk_tolerance[who][:, None]
    ok &= (age[:, None] >= catalog.min_age[None, :]) & (age[:, None] <= catalog.max_age[None, :])
    ok &= (ts[:, None] >= catalog.active_from_us[None, :])
    ok &= (ts[:, None] < catalog.active_until_us[None, :])
    ok &= ~state.held[who]
    return ok


def _apply_purchases(state: _State, catalog: SimCatalog, who: np.ndarray, product: np.ndarray,
                     ts: np.ndarray) -> None:
    state.previous[who] = state.last[who]
    state.previous_us[who] = state.last_us[who]
    state.last[who] = product
    state.last_us[who] = ts
    once = ~catalog.repeatable[product]
    state.held[who[once], product[once]] = True
