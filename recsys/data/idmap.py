"""Frozen two-way mapping between external string ids and internal dense integer ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl


@dataclass(frozen=True)
class IdMap:
    """External ids in internal order; internal id i <-> external `ids[i]`."""

    ids: np.ndarray  # dtype object/str, unique
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids).astype(str).astype(object)
        index = {v: i for i, v in enumerate(ids.tolist())}
        if len(index) != len(ids):
            raise ValueError("IdMap ids must be unique")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_values(cls, values: Iterable[str] | pl.Series) -> IdMap:
        """An IdMap over the unique values, in sorted order (deterministic)."""
        s = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
        return cls(s.cast(pl.String).unique().sort().to_numpy())

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external: object) -> bool:
        return external in self._index

    def to_internal(self, external: Iterable[str], *, strict: bool = True) -> np.ndarray:
        """Internal ids; unknown ids raise KeyError when strict, else map to -1."""
        get = self._index.get
        out = np.fromiter((get(x, -1) for x in external), dtype=np.int64)
        if strict and (out < 0).any():
            missing = [x for x, i in zip(external, out, strict=False) if i < 0][:5]
            raise KeyError(f"unknown ids: {missing}")
        return out

    def to_internal_series(self, external: pl.Series) -> pl.Series:
        """Vectorised mapping of a polars Series of external ids; unknown ids become null."""
        lookup = pl.DataFrame({"_ext": self.ids.astype(str), "_int": np.arange(len(self), dtype=np.int32)})
        return (
            external.cast(pl.String).to_frame("_ext").join(lookup, on="_ext", how="left", maintain_order="left")["_int"]
        )

    def to_external(self, internal: np.ndarray) -> np.ndarray:
        """External ids for internal ids (same shape)."""
        return self.ids[np.asarray(internal)]
