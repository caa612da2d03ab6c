"""Channel: the product is sold in the channel, and its category is not excluded there."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from recsys.rules.catalog import Catalog


def sold_in_channel(catalog: Catalog, channel: str | None) -> np.ndarray:
    """(n,) bool: product sold in `channel`; no channel given means no channel restriction."""
    if channel is None:
        return np.ones(len(catalog), dtype=bool)
    return catalog.sold_in[:, catalog.channel_index(channel)].copy()


def category_allowed(catalog: Catalog, excluded_categories: Collection[str]) -> np.ndarray:
    """(n,) bool: product category not among the channel's excluded categories (settings)."""
    if isinstance(excluded_categories, str):
        # A bare string would be read as a set of characters.
        raise TypeError("excluded_categories must be a collection of category names, not a str")
    return ~np.isin(catalog.category, np.asarray(list(excluded_categories), dtype=object))
