"""Whom an offer targets: offers x customers match matrices, and an offer's reach for warnings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.offers.model import Offer
from recsys.rules.catalog import Catalog
from recsys.rules.combine import combine, rule_masks
from recsys.rules.customers import CustomerBatch
from recsys.rules.eligibility import age_bounds


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
    return pl.Series(values, dtype=pl.String).is_in(list(allowed)).fill_null(False).to_numpy()


@dataclass(frozen=True)
class Reach:
    """How many customers of a snapshot an offer targets, and how many can receive it."""

    targeted: int
    receivable: int
    blocked: dict[str, int] = field(default_factory=dict)  # rule -> targeted customers blocked


def target_profile(
    customer_ids: Sequence[str], customers: CustomerBatch, features: pl.DataFrame
) -> TargetProfile:
    """What targeting reads of customers: their rule inputs and their profile's text fields."""

    def text(name: str) -> np.ndarray:
        if name not in features.columns:
            return np.full(features.height, None, dtype=object)
        return features[name].cast(pl.String).to_numpy().astype(object)

    return TargetProfile(
        customer_ids=np.asarray(customer_ids, dtype=object),
        segment=customers.segment,
        birth_year=customers.birth_year,
        age_known=customers.age_known,
        risk_tolerance=customers.risk_tolerance,
        income_band=text(C.income_band),
        region=text(C.region),
    )


def reach(
    offer: Offer,
    catalog: Catalog,
    customers: CustomerBatch,
    held: sp.csr_matrix,
    profile: TargetProfile,
    *,
    at: date,
    excluded_categories: Mapping[str, Sequence[str]],
) -> Reach:
    """Targeted customers, and how many every hard rule lets through (the rules that serve).

    `customers`, `held` and `profile` cover the same customers in one order. Counts per rule
    are of targeted customers that rule alone blocks (several may block one). An offer for
    several channels reaches a customer when one of its channels does.
    """
    targeted = target_match([offer], profile, at)[:, 0]
    if offer.product_id not in catalog.products:
        return Reach(int(targeted.sum()), 0, {"unknown_product": int(targeted.sum())})
    [p] = catalog.products.to_internal([offer.product_id])
    one = catalog.take(np.array([p]))
    quantity = held[:, [p]].toarray()
    per_channel = [
        rule_masks(
            one,
            customers,
            quantity,
            at=at,
            channel=channel,
            excluded_categories=excluded_categories.get(channel, ()) if channel else (),
            for_offers=True,
        )
        for channel in (offer.channels or (None,))
    ]
    # a rule blocks where it blocks in every channel the offer may use
    allowed = {
        rule: np.logical_or.reduce([masks[rule][:, 0] for masks in per_channel])
        for rule in per_channel[0]
    }
    receivable = targeted & np.logical_or.reduce([combine(m)[:, 0] for m in per_channel])
    blocked = {rule: int((targeted & ~ok).sum()) for rule, ok in allowed.items()}
    return Reach(
        int(targeted.sum()), int(receivable.sum()), {k: v for k, v in blocked.items() if v}
    )
