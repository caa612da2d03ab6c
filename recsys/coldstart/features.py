"""What a product is and who a customer is, as 0/1 design rows for the cold-start prior.

A product's row: category, risk rating, term band, channels and tags (the contract's
optional attribute columns; absent ones give no columns). A customer's row: segment, income
band, risk tolerance and age band. Both start with a constant column, so the prior also
learns how popular products of an attribute are overall.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import polars as pl

from recsys.columns import Columns as C

TERM_BANDS: Final = (0, 6, 12, 36)  # months: a term above each edge falls in the next band
AGE_EDGES: Final = (25, 35, 50, 65)
UNKNOWN: Final = "unknown"
CONSTANT: Final = "constant"


@dataclass(frozen=True)
class Vocabulary:
    """The column names of a design (`column=value`), fixed when the prior is fitted."""

    names: tuple[str, ...]

    @property
    def index(self) -> dict[str, int]:
        """Column position by name."""
        return {n: i for i, n in enumerate(self.names)}


def product_tokens(products: pl.DataFrame) -> list[list[str]]:
    """Per product: its attribute tokens (`category=fund`, `tag=esg`, `channel=atm`...)."""
    n = products.height
    cols = products.columns

    def column(name: str) -> list:
        return products[name].to_list() if name in cols else [None] * n

    out = []
    for cat, risk, term, channels, tags, low, high in zip(
        column(C.category),
        column(C.risk_rating),
        column(C.term_months),
        column(C.channels),
        column(C.tags),
        column(C.min_age),
        column(C.max_age),
        strict=True,
    ):
        tokens = [CONSTANT, f"category={cat}", f"risk={risk}"]
        # who a product is for: juniors, students, the working-age
        tokens += [f"min_age={_band(low, AGE_EDGES)}"] if low is not None else []
        tokens += [f"max_age={_band(high, AGE_EDGES)}"] if high is not None else []
        if term is not None:
            tokens.append(f"term={_band(term, TERM_BANDS)}")
        tokens += [f"channel={c}" for c in channels or ("all",)]
        tokens += [f"tag={t}" for t in tags or ()]
        out.append(tokens)
    return out


def customer_tokens(
    customers: pl.DataFrame, today: date, bought: Sequence[Sequence[str]] | None = None
) -> list[list[str]]:
    """Per customer: segment, income band, risk tolerance and age band tokens, and one per
    category of `bought` (the categories each customer bought before)."""
    n = customers.height
    cols = customers.columns

    def column(name: str) -> list:
        return customers[name].to_list() if name in cols else [None] * n

    out = []
    for seg, inc, tol, born in zip(
        column(C.segment),
        column(C.income_band),
        column(C.risk_tolerance),
        column(C.birth_year),
        strict=True,
    ):
        age = UNKNOWN if born is None else _band(today.year - born, AGE_EDGES)
        out.append(
            [
                CONSTANT,
                f"segment={seg or UNKNOWN}",
                f"income={inc or UNKNOWN}",
                f"tolerance={tol or UNKNOWN}",
                f"age={age}",
            ]
        )
    for row, categories in zip(out, bought or [()] * n, strict=True):
        row += [f"bought={c}" for c in sorted(set(categories))]
    return out


def bought_categories(
    events: pl.DataFrame, customers: pl.DataFrame, products: pl.DataFrame
) -> list[list[str]]:
    """Per customer (frame order): the categories of the products `events` say they bought."""
    bought = (
        events.filter(pl.col(C.event) == "purchase")
        .select(C.customer_id, C.product_id)
        .join(products.select(C.product_id, C.category), on=C.product_id)
        .group_by(C.customer_id)
        .agg(pl.col(C.category).unique())
    )
    joined = customers.select(C.customer_id).join(
        bought, on=C.customer_id, how="left", maintain_order="left"
    )
    return [c or [] for c in joined[C.category].to_list()]


def vocabulary(tokens: Sequence[Sequence[str]]) -> Vocabulary:
    """Every token seen, sorted (the constant first)."""
    seen = {t for row in tokens for t in row} - {CONSTANT}
    return Vocabulary((CONSTANT, *sorted(seen)))


def design(tokens: Sequence[Sequence[str]], vocab: Vocabulary) -> np.ndarray:
    """(rows, columns) float64 0/1; tokens the vocabulary lacks are left out."""
    index = vocab.index
    out = np.zeros((len(tokens), len(vocab.names)))
    for r, row in enumerate(tokens):
        cols = [index[t] for t in row if t in index]
        out[r, cols] = 1.0
    return out


def _band(value: int, edges: Sequence[int]) -> str:
    """`<=edge` of the first edge at or above `value`, else `>last`."""
    for edge in edges:
        if value <= edge:
            return f"<={edge}"
    return f">{edges[-1]}"


def bought_categories_of(held: np.ndarray, categories: np.ndarray) -> list[list[str]]:
    """Per row of a (b, n) holdings array: the categories of the products held."""
    return [sorted(set(categories[np.flatnonzero(row > 0)].tolist())) for row in held]
