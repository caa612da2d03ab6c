"""Whom an offer targets: offers x customers match matrices, and an offer's reach for warnings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.offers.model import Offer
from recsys.rules.catalog import NO_MAX_AGE
from recsys.rules.eligibility import active_at, age_bounds

ADULT_AGE = 18  # the engine's policy (recsys.engine.engine.ADULT_AGE; a test keeps them equal)


@dataclass(frozen=True, eq=False)
class TargetProfile:
    """What targeting reads of a batch of customers, as aligned (b,) arrays."""

    customer_ids: np.ndarray  # str objects
    segment: np.ndarray  # str objects
    birth_year: np.ndarray  # int
    age_known: np.ndarray  # bool
    risk_tolerance: np.ndarray  # int
    income_band: np.ndarray  # str objects, None where unknown
    region: np.ndarray  # str objects, None where unknown

    def __len__(self) -> int:
        return len(self.customer_ids)


def target_match(offers: Sequence[Offer], profile: TargetProfile, at: date) -> np.ndarray:
    """(b, m) bool: customer i is in offer j's target (consent and rules are not looked at).

    A field the customer has no value for never matches a condition on that field: an offer
    for ages 18-30 does not go to a customer of unknown age.
    """
    out = np.ones((len(profile), len(offers)), dtype=bool)
    if not len(offers) or not len(profile):
        return out
    youngest, oldest = age_bounds(np.asarray(profile.birth_year, dtype=np.int32), at)
    for j, offer in enumerate(offers):
        t, col = offer.target, out[:, j]
        if t.segments:
            col &= _isin(profile.segment, t.segments)
        if t.age_min is not None:
            col &= profile.age_known & (youngest >= t.age_min)
        if t.age_max is not None:
            col &= profile.age_known & (oldest <= t.age_max)
        if t.income_bands:
            col &= _isin(profile.income_band, t.income_bands)
        if t.regions:
            col &= _isin(profile.region, t.regions)
        if t.min_risk_tolerance is not None:
            col &= np.asarray(profile.risk_tolerance) >= t.min_risk_tolerance
        if t.customers is not None:
            col &= _isin(profile.customer_ids, t.customers)
    return out


def _isin(values: np.ndarray, allowed: Sequence[str] | frozenset[str]) -> np.ndarray:
    if len(values) <= 8:  # a request: set lookups beat np.isin's sort
        keep = allowed if isinstance(allowed, frozenset) else frozenset(allowed)
        return np.fromiter((v in keep for v in values), dtype=bool, count=len(values))
    return pl.Series(values, dtype=pl.String).is_in(list(allowed)).fill_null(False).to_numpy()


@dataclass(frozen=True)
class Reach:
    """How many customers of a snapshot an offer targets, and how many can receive it."""

    targeted: int
    receivable: int
    blocked: dict[str, int] = field(default_factory=dict)  # rule -> targeted customers blocked


def snapshot_profile(customers: pl.DataFrame) -> TargetProfile:
    """A TargetProfile of every customer of a snapshot's customers frame (its row order)."""

    def text(name: str) -> np.ndarray:
        if name not in customers.columns:
            return np.full(customers.height, None, dtype=object)
        return customers[name].cast(pl.String).to_numpy().astype(object)

    birth = customers[C.birth_year]
    risk = customers[C.risk_tolerance] if C.risk_tolerance in customers.columns else None
    return TargetProfile(
        customer_ids=text(C.customer_id),
        segment=text(C.segment),
        birth_year=birth.fill_null(1970).to_numpy(),
        age_known=birth.is_not_null().to_numpy(),
        risk_tolerance=(risk.fill_null(1).to_numpy() if risk is not None else np.ones(0)),
        income_band=text(C.income_band),
        region=text(C.region),
    )


def reach(offer: Offer, engine: object, at: date) -> Reach:
    """Targeted customers of the engine's snapshot, and how many every hard rule lets through.

    `engine` is a recsys.engine.engine.Engine (duck-typed to keep this module free of it).
    Counts per rule are of targeted customers that rule alone blocks (several may block one).
    """
    snapshot = engine.snapshot  # type: ignore[attr-defined]
    catalog = engine.catalog  # type: ignore[attr-defined]
    customers = snapshot.customers
    profile = snapshot_profile(customers)
    targeted = target_match([offer], profile, at)[:, 0]
    if offer.product_id not in snapshot.product_map:
        return Reach(int(targeted.sum()), 0, {"unknown_product": int(targeted.sum())})
    [p] = snapshot.product_map.to_internal([offer.product_id])
    youngest, oldest = age_bounds(np.asarray(profile.birth_year, dtype=np.int32), at)
    consent = customers[C.marketing_consent].fill_null(False).to_numpy().astype(bool)
    held = np.asarray(snapshot.held[:, [p]].todense()).ravel() > 0
    allowed = {
        "suitability": catalog.risk_rating[p] <= profile.risk_tolerance,
        "age": np.where(
            profile.age_known,
            (catalog.min_age[p] <= youngest) & (oldest <= catalog.max_age[p]),
            # the engine's policy for an unknown age: products open to every adult only
            bool(catalog.min_age[p] <= ADULT_AGE and catalog.max_age[p] == NO_MAX_AGE),
        ),
        "consent": consent,
        "held": ~held if not catalog.repeatable[p] else np.ones_like(consent),
        "active": np.full(len(consent), bool(active_at(catalog, at)[p])),
    }
    if offer.channels:
        sold = [catalog.sold_in[p, catalog.channel_index(c)] for c in offer.channels]
        allowed["channel"] = np.full(len(consent), any(sold))
    blocked = {rule: int((targeted & ~ok).sum()) for rule, ok in allowed.items()}
    receivable = targeted.copy()
    for ok in allowed.values():
        receivable &= ok
    return Reach(
        int(targeted.sum()), int(receivable.sum()), {k: v for k, v in blocked.items() if v}
    )
