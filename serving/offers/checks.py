"""An offer against the serving model's catalog: what is refused, and what is only warned about.

Refused (OfferProblem, named by the offer field): a product the catalog does not have, a
channel the settings do not configure, a segment no customer of the snapshot is in. Warned
(plain sentences, counts included): a target that matches nobody, targeted customers the hard
rules or consent keep from ever getting the product, channels that do not sell it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.engine.engine import Engine
from recsys.offers.model import Offer, OfferProblem

SHOWN = 5  # unknown values named in one message at most


def catalog_problems(
    product_id: str,
    wanted_channels: Sequence[str],
    segments: Sequence[str],
    engine: Engine,
    channels: Collection[str],
) -> list[OfferProblem]:
    """Every unknown among an offer's product, channels and segments (empty: all known)."""
    out = []
    if product_id and product_id not in engine.snapshot.product_map:
        problem = f"unknown product {product_id!r}: not in the serving model's catalog"
        out.append(OfferProblem("product", problem))
    unknown = [c for c in wanted_channels if c not in channels]
    if unknown:
        problem = f"unknown channel(s) {_few(unknown)}; known: {sorted(channels)}"
        out.append(OfferProblem("channels", problem))
    known = _values(engine, C.segment)
    unknown = [s for s in segments if s not in known]
    if unknown:
        problem = f"unknown segment(s) {_few(unknown)}; known: {sorted(known)}"
        out.append(OfferProblem("segments", problem))
    return out


def warnings_for(offer: Offer, engine: Engine, now: datetime) -> list[str]:
    """What the marketer should know before the offer runs (empty when nothing stands out)."""
    out = _time_warnings(offer, now)
    out += _value_warnings(offer, engine)
    out += _channel_warnings(offer, engine)
    out += _reach_warnings(offer, engine, max(now.date(), offer.start_at.date()))
    return out


def _time_warnings(offer: Offer, now: datetime) -> list[str]:
    if offer.end_at <= now:
        return [f"end: {offer.end_at.isoformat()} has passed: the offer will never be served"]
    return []


def _value_warnings(offer: Offer, engine: Engine) -> list[str]:
    out = []
    t = offer.target
    for name, column, wanted in (
        ("income_bands", C.income_band, t.income_bands),
        ("regions", C.region, t.regions),
    ):
        known = _values(engine, column)
        unknown = [v for v in wanted if v not in known]
        if unknown:
            out.append(f"{name}: no customer of the serving snapshot has {_few(unknown)}")
    if t.customers:
        listed = np.asarray(sorted(t.customers), dtype=object)
        missing = int((~np.isin(listed, engine.snapshot.customer_map.ids)).sum())
        if missing:
            out.append(
                f"customers: {missing} of {len(listed)} listed customers are not in the serving "
                "snapshot (new customers are matched once they are known)"
            )
    return out


def _channel_warnings(offer: Offer, engine: Engine) -> list[str]:
    catalog = engine.catalog
    [p] = engine.snapshot.product_map.to_internal([offer.product_id])
    category = catalog.category[p]
    closed = [
        c
        for c in offer.channels
        if c in catalog.channels
        and (
            not catalog.sold_in[p, catalog.channel_index(c)]
            or category in engine.excluded_categories.get(c, ())
        )
    ]
    if not closed:
        return []
    return [f"channels: {offer.product_id} is not sold in {_few(closed)}: no slots there"]


def _reach_warnings(offer: Offer, engine: Engine, at: date) -> list[str]:
    try:
        found = engine.reach(offer, at)
    except ValueError as exc:  # e.g. a configured channel the model's catalog lacks
        return [f"target: reach not computed: {exc}"]
    if found.targeted == 0:
        n = len(engine.snapshot.customer_map)
        return [f"target: matches no customer of the serving snapshot ({n:,} customers)"]
    blocked = found.targeted - found.receivable
    if blocked == 0:
        return []
    why = ", ".join(f"{rule} {n:,}" for rule, n in sorted(found.blocked.items(), key=_by_count))
    return [
        f"target: {blocked:,} of {found.targeted:,} targeted customers cannot receive "
        f"{offer.product_id} (blocked by {why}); {found.receivable:,} can"
    ]


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def _values(engine: Engine, column: str) -> set[str]:
    customers = engine.snapshot.customers
    if column not in customers.columns:
        return set()
    return set(customers[column].drop_nulls().cast(pl.String).unique().to_list())


def _few(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")
