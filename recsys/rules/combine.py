"""All hard rules together: one mask per rule, the allowed mask is their logical AND."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Final

import numpy as np
import scipy.sparse as sp

from recsys.rules.catalog import Catalog
from recsys.rules.channel import category_allowed, sold_in_channel
from recsys.rules.consent import offers_allowed
from recsys.rules.customers import CustomerBatch
from recsys.rules.eligibility import active_at, age_eligible
from recsys.rules.held import not_held
from recsys.rules.suitability import suitable

RULES: Final = (
    "suitability",
    "age",
    "active",
    "held",
    "channel",
    "category",
    "excluded",
    "consent",
    "policy",  # the contact policy (outbound requests only: recsys.campaigns.outbound)
)

Held = sp.sparray | sp.spmatrix | np.ndarray | None


PRODUCT_RULES: Final = ("active", "channel", "category")


def product_masks(
    catalog: Catalog,
    *,
    at: date,
    channel: str | None = None,
    excluded_categories: Collection[str] = (),
) -> dict[str, np.ndarray]:
    """(n,) read-only bool mask per rule that reads only the product, the day and the channel
    (PRODUCT_RULES): the same for every customer, so a caller may keep them per day and channel."""
    masks = {
        "active": active_at(catalog, at),
        "channel": sold_in_channel(catalog, channel),
        "category": category_allowed(catalog, excluded_categories),
    }
    for mask in masks.values():
        mask.flags.writeable = False
    return masks


def rule_masks(
    catalog: Catalog,
    customers: CustomerBatch,
    held: Held,
    *,
    at: date,
    channel: str | None = None,
    excluded_categories: Collection[str] = (),
    exclude_products: np.ndarray | None = None,
    for_offers: bool = False,
    products: dict[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """(b, n) bool mask per applied rule (True = allowed), keyed in RULES order.

    `excluded` is present only when `exclude_products` is given and `consent` only when
    `for_offers`. `products` is `product_masks` of the same catalog, day, channel and
    categories, when the caller kept them. Product-only rules are read-only views.
    """
    shape = (len(customers), len(catalog))
    if products is None:
        products = product_masks(
            catalog, at=at, channel=channel, excluded_categories=excluded_categories
        )
    masks = {
        "suitability": suitable(catalog, customers),
        "age": age_eligible(catalog, customers, at),
        "active": _rows(products["active"], shape),
        "held": not_held(catalog, held, shape[0]),
        "channel": _rows(products["channel"], shape),
        "category": _rows(products["category"], shape),
    }
    if exclude_products is not None:
        masks["excluded"] = _not_excluded(exclude_products, shape)
    if for_offers:
        masks["consent"] = np.broadcast_to(offers_allowed(customers)[:, None], shape)
    return masks


def _rows(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A read-only (n,) mask as (b, n) rows without a copy."""
    if shape[0] == 1 and not mask.flags.writeable:
        return mask[None]  # the view broadcast_to makes, without its overhead (one-row requests)
    return np.broadcast_to(mask, shape)


def combine(masks: dict[str, np.ndarray]) -> np.ndarray:
    """The logical AND of the rule masks (a new writable array)."""
    if not masks:
        raise ValueError("no rule masks to combine")
    return np.logical_and.reduce(list(masks.values()))


def _not_excluded(exclude: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Mask from a bool (n,) / (b, n) array (True = exclude) or an array of product ids."""
    exclude = np.asarray(exclude)
    if exclude.dtype == bool:
        if exclude.shape not in (shape, shape[1:]):
            raise ValueError(f"exclude_products mask has shape {exclude.shape}, expected {shape}")
        return np.broadcast_to(~exclude, shape)
    if not np.issubdtype(exclude.dtype, np.integer) and exclude.size:
        raise TypeError(f"exclude_products must be bool or integer ids, got {exclude.dtype}")
    ids = exclude.astype(np.int64).ravel()
    bad = ids[(ids < 0) | (ids >= shape[1])]
    if bad.size:
        raise ValueError(f"exclude_products: ids out of range [0, {shape[1]}): {bad[:5].tolist()}")
    keep = np.ones(shape[1], dtype=bool)
    keep[ids] = False
    return np.broadcast_to(keep, shape)
