"""Frozen two-way mapping between external string ids and internal dense integer ids."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

_EXT = "_ext"
_INT = "_int"


@dataclass(frozen=True, eq=False)
class IdMap:
    """External ids in internal order; internal id i <-> external `ids[i]`."""

    ids: np.ndarray  # dtype object (str), unique, no nulls
    _index: dict[str, int] = field(init=False, repr=False)
    _lookup: pl.DataFrame = field(init=False, repr=False)

    def __post_init__(self) -> None:
        raw = np.asarray(self.ids, dtype=object).ravel()
        # str(None) would silently become the id "None"
        if any(v is None for v in raw.tolist()):
            raise ValueError("IdMap ids must not be null")
        ids = raw.astype(str).astype(object)
        index = {v: i for i, v in enumerate(ids.tolist())}
        if len(index) != len(ids):
            raise ValueError("IdMap ids must be unique")
        lookup = pl.DataFrame(
            {
                _EXT: pl.Series(ids.tolist(), dtype=pl.String),
                _INT: np.arange(len(ids), dtype=np.int32),
            }
        )
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def from_values(cls, values: Iterable[str] | pl.Series) -> IdMap:
        """An IdMap over the unique values, in sorted order (deterministic)."""
        s = values if isinstance(values, pl.Series) else pl.Series(list(values), dtype=pl.String)
        return cls(s.cast(pl.String).unique().sort().to_numpy())

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external: object) -> bool:
        return external in self._index

    def __eq__(self, other: object) -> bool:
        # the generated dataclass __eq__ compared arrays element-wise and raised
        if not isinstance(other, IdMap):
            return NotImplemented
        return len(self) == len(other) and bool(np.array_equal(self.ids, other.ids))

    def __hash__(self) -> int:
        return hash(tuple(self.ids.tolist()))

    def to_internal(self, external: Iterable[str], *, strict: bool = True) -> np.ndarray:
        """Internal ids; unknown ids raise KeyError when strict, else map to -1."""
        values = list(external)  # a generator could be read only once
        get = self._index.get
        out = np.fromiter((get(x, -1) for x in values), dtype=np.int64, count=len(values))
        if strict and (out < 0).any():
            missing = [x for x, i in zip(values, out, strict=True) if i < 0][:5]
            raise KeyError(f"unknown ids: {missing}")
        return out

    def to_internal_series(self, external: pl.Series) -> pl.Series:
        """Vectorised mapping of a polars Series of external ids; unknown ids become null."""
        joined = external.cast(pl.String).to_frame(_EXT).join(
            self._lookup, on=_EXT, how="left", maintain_order="left"
        )
        return joined[_INT].rename(external.name)

    def to_external(self, internal: np.ndarray) -> np.ndarray:
        """External ids for internal ids (same shape); out-of-range ids raise IndexError."""
        idx = np.asarray(internal)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            # numpy would wrap -1 round to the last id without complaint
            bad = idx[(idx < 0) | (idx >= len(self))].ravel()[:5].tolist()
            raise IndexError(f"internal ids out of range 0..{len(self) - 1}: {bad}")
        return self.ids[idx]
