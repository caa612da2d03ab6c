"""The customer facts the hard rules need, as arrays for one batch (row i = customer i)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.columns import Columns as C


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class CustomerBatch:
    """A batch of customers as aligned arrays; rows follow the order the caller asked for."""

    birth_year: np.ndarray  # int32 (b,)
    risk_tolerance: np.ndarray  # int8 (b,)
    marketing_consent: np.ndarray  # bool (b,)
    segment: np.ndarray  # str objects (b,)
    # False where the profile has no birth year: birth_year is then a placeholder that
    # decides nothing (recsys.rules.eligibility lets such a customer see adult products only)
    age_known: np.ndarray | None = None  # bool (b,); None = every age known

    def __post_init__(self) -> None:
        if self.age_known is None:
            object.__setattr__(self, "age_known", np.ones(len(self.birth_year), dtype=bool))
        sizes = {
            len(self.birth_year),
            len(self.risk_tolerance),
            len(self.marketing_consent),
            len(self.segment),
            len(self.age_known),
        }
        if len(sizes) != 1:
            raise ValueError(f"CustomerBatch arrays differ in length: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.birth_year)

    @classmethod
    def from_arrays(
        cls,
        *,
        birth_year: Sequence[int] | np.ndarray,
        risk_tolerance: Sequence[int] | np.ndarray,
        marketing_consent: Sequence[bool] | np.ndarray,
        segment: Sequence[str] | np.ndarray,
        age_known: Sequence[bool] | np.ndarray | None = None,
    ) -> CustomerBatch:
        """A batch from plain sequences (one value per customer), cast to the canonical dtypes."""
        return cls(
            birth_year=np.asarray(birth_year, dtype=np.int32),
            risk_tolerance=np.asarray(risk_tolerance, dtype=np.int8),
            marketing_consent=np.asarray(marketing_consent, dtype=bool),
            segment=np.asarray(segment, dtype=object),
            age_known=None if age_known is None else np.asarray(age_known, dtype=bool),
        )

    @classmethod
    def from_frame(
        cls, customers: pl.DataFrame, customer_ids: Sequence[str] | pl.Series | None = None
    ) -> CustomerBatch:
        """Rows of a canonical customers frame, in `customer_ids` order (frame order if None)."""
        frame = customers if customer_ids is None else _select(customers, customer_ids)
        columns = (C.birth_year, C.risk_tolerance, C.marketing_consent, C.segment)
        for column in columns:
            if column not in frame.columns:
                raise ValueError(f"customers: missing column {column}")
            nulls = frame.filter(pl.col(column).is_null())
            if nulls.height:
                shown = nulls[C.customer_id].head(5).to_list()
                raise ValueError(f"customers, column {column}: null for customers {shown}")
        return cls.from_arrays(**{c: frame[c].to_numpy() for c in columns})


def _select(customers: pl.DataFrame, customer_ids: Sequence[str] | pl.Series) -> pl.DataFrame:
    """The rows of `customer_ids`, in that order; unknown ids raise ValueError."""
    values = customer_ids if isinstance(customer_ids, pl.Series) else list(customer_ids)
    wanted = pl.Series(C.customer_id, values, dtype=pl.String).to_frame()
    found = wanted.join(customers, on=C.customer_id, how="left", maintain_order="left")
    if found.height != wanted.height:
        raise ValueError(f"customers, column {C.customer_id}: duplicate ids")
    present = wanted.join(customers.select(C.customer_id), on=C.customer_id, how="semi")
    if present.height != wanted.height:
        missing = wanted.join(present, on=C.customer_id, how="anti")[C.customer_id]
        raise ValueError(f"customers: unknown customer ids {missing.head(5).to_list()}")
    return found
