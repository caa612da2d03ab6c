"""Consent: offers are pushed only to customers with marketing consent.

Organic recommendations (what a customer would find anyway) do not need consent; this mask
applies to offers only, so `combine.rule_masks` adds it only when asked `for_offers=True`.
"""

from __future__ import annotations

import numpy as np

from recsys.rules.customers import CustomerBatch


def offers_allowed(customers: CustomerBatch) -> np.ndarray:
    """(b,) bool: the customer may receive offers (marketing consent given)."""
    return customers.marketing_consent.astype(bool, copy=True)
