"""Arbitration by expected value: P(purchase) x value x lever, with a floor on P.

Pega's priority without its context weight: the calibrated probability of a purchase, the
product's expected margin per sale and marketing's lever (e.g. 1.2 on deposits this
quarter). Products whose probability is under the floor are not pushed by their value:
they rank after every product above it, by probability alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

Policy = Literal["propensity", "value"]
POLICIES: Final = ("propensity", "value")
NO_FILE_VALUE: Final = np.nan


@dataclass(frozen=True, eq=False)
class ProductValues:
    """Per product (internal id order): expected margin per sale and marketing's lever."""

    value: np.ndarray  # float32 (n,)
    lever: np.ndarray  # float32 (n,)


def product_values(
    product_ids: Sequence[str],
    categories: Sequence[str],
    file_values: np.ndarray,
    *,
    values: Mapping[str, float],
    levers: Mapping[str, float],
    default_value: float,
) -> ProductValues:
    """Each product's value (configured id > products file > configured category > default)
    and lever (configured id > category > 1)."""
    value = np.empty(len(product_ids), dtype=np.float32)
    lever = np.empty(len(product_ids), dtype=np.float32)
    for i, (p, c) in enumerate(zip(product_ids, categories, strict=True)):
        from_file = float(file_values[i])
        if p in values:
            value[i] = values[p]
        elif not np.isnan(from_file):
            value[i] = from_file
        else:
            value[i] = values.get(c, default_value)
        lever[i] = levers.get(p, levers.get(c, 1.0))
    return ProductValues(value, lever)


def value_keys(
    probability: np.ndarray, values: ProductValues, min_probability: float = 0.0
) -> np.ndarray:
    """(b, n) ranking keys: expected value where P >= the floor, else P - 1 (below all)."""
    p = np.asarray(probability, dtype=np.float32)
    expected = p * (values.value * values.lever)[None, :]
    # values and levers are >= 0 and P < 1, so every key above the floor beats P - 1
    return np.where(p >= np.float32(min_probability), expected, p - np.float32(1.0)).astype(
        np.float32
    )
