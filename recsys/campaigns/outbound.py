"""What an outbound request adds to the hard rules of the one request pipeline.

An outbound channel carries the products its configuration lists (where a product is *sold*,
the catalog's channels, is about the inbound channels), needs marketing consent for every
contact, and obeys the contact policy: the `policy` mask the campaign worked out from the
customers' contacts and events.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Outbound:
    """One outbound channel's rules for a batch of customers (row i = customer i)."""

    channel: str
    products: np.ndarray  # (n,) bool: the channel may carry the product
    excluded_categories: tuple[str, ...]
    policy: np.ndarray  # (b, n) bool: the contact policy allows the contact about the product
    consent: np.ndarray | None = None  # (b,) bool the caller knows (newer data): ANDed in


def outbound_masks(masks: dict[str, np.ndarray], out: Outbound) -> dict[str, np.ndarray]:
    """The rule masks of an outbound request: `masks` (made with consent) with the channel's
    products as the channel rule, the caller's consent ANDed in, and the policy rule."""
    shape = masks["suitability"].shape
    if out.policy.shape != shape:
        raise ValueError(f"outbound policy mask has shape {out.policy.shape}, expected {shape}")
    if out.products.shape != shape[1:]:
        raise ValueError(f"outbound products mask has shape {out.products.shape}")
    masks = dict(masks)
    masks["channel"] = np.broadcast_to(out.products, shape)
    if out.consent is not None:
        masks["consent"] = masks["consent"] & out.consent[:, None]
    masks["policy"] = out.policy
    return masks


def channel_products(product_ids: np.ndarray, allowed: list[str]) -> np.ndarray:
    """(n,) bool: the products an outbound channel may carry (`allowed` empty: every one)."""
    if not allowed:
        return np.ones(len(product_ids), dtype=bool)
    return np.isin(product_ids.astype(str), np.asarray(allowed, dtype=str))
