"""Who visits which channel, and when: customers by latent activity, channels by a mix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from recsys.columns import DEFAULT_CHANNELS
from recsys.data.generate.events import CHANNEL_PREFERENCE
from recsys.data.generate.timeline import DAY_US, years_of
from recsys.data.generate.truth import Truth

DEFAULT_DAYS: Final = 30  # simulated days the visits spread over, after the history


class MixError(ValueError):
    """A --channel-mix that cannot be used (the message names the part)."""


@dataclass(frozen=True)
class Visits:
    """Visits in time order: customer position, channel name, simulated instant."""

    customer: np.ndarray  # int64
    channel: np.ndarray  # str
    at_us: np.ndarray  # int64

    def __len__(self) -> int:
        return len(self.customer)


def parse_channel_mix(text: str, channels: Sequence[str]) -> dict[str, float]:
    """`mobile=0.5,web=0.3,branch=0.2` as shares summing to 1 (weights are normalised)."""
    mix: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise MixError(f"{part!r}: expected CHANNEL=SHARE")
        if name not in channels:
            raise MixError(f"{name!r}: unknown channel; known: {', '.join(channels)}")
        if name in mix:
            raise MixError(f"{name!r}: given twice")
        try:
            share = float(value)
        except ValueError as exc:
            raise MixError(f"{part!r}: share {value!r} is not a number") from exc
        if not np.isfinite(share) or share < 0:
            raise MixError(f"{part!r}: share must be a finite number >= 0")
        mix[name] = share
    total = sum(mix.values())
    if total <= 0:
        raise MixError("the shares sum to 0")
    return {name: share / total for name, share in mix.items()}


def plan_visits(rng: np.random.Generator, truth: Truth, n: int,
                mix: Mapping[str, float] | None = None, days: float = DEFAULT_DAYS) -> Visits:
    """`n` visits spread evenly over `days` after the history; customers by activity.

    Without a mix, each visit's channel follows the customer's own preference in the
    generator (digital use x age class, over DEFAULT_CHANNELS).
    """
    activity = truth.customers.activity.astype(np.float64)
    customer = rng.choice(len(truth), size=n, p=activity / activity.sum())
    at_us = truth.end_us + (np.arange(n) * (days * DAY_US / max(n, 1))).astype(np.int64)
    if mix:
        names = np.array(list(mix))
        channel = names[rng.choice(len(names), size=n, p=np.array(list(mix.values())))]
    else:
        channel = _preferred(rng, truth, customer, at_us)
    return Visits(customer=customer.astype(np.int64), channel=channel, at_us=at_us)


def _preferred(rng: np.random.Generator, truth: Truth, customer: np.ndarray,
               at_us: np.ndarray) -> np.ndarray:
    age = years_of(at_us) - truth.customers.birth_year[customer]
    group = 3 * truth.customers.digital[customer].astype(np.int64)
    group += np.searchsorted(np.array([30, 65]), age, side="right")
    cdf = np.cumsum(CHANNEL_PREFERENCE, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(customer))
    index = (u[:, None] >= cdf[group]).sum(axis=1)
    return np.array(DEFAULT_CHANNELS)[np.minimum(index, len(DEFAULT_CHANNELS) - 1)]
