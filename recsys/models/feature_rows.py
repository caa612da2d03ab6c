"""One-hot features of one frame row at a time, from per-column caches: a request's profile.

`FeatureEncoder.transform` runs a few polars expressions per column; on the one-row frame of
a request that is milliseconds of fixed cost (each expression is a lazy query) for a
handful of features. A row's features depend on each column's value alone, so `RowFeatures`
asks `transform` once per distinct (column, value) and keeps the answer: the same features
by construction, and per request only a dict lookup per column. Values are told apart by
their Python type too (True is not 1): the integer, string or boolean dtypes that give one
Python type encode a value alike (a null never gives a feature).

Two kinds of value are handled without a cache, because they are about one per customer:

- binned numbers (an income): the bin is found as `ColumnEncoding.tokens` finds it (the
  first edge above the value: numpy's searchsorted side="right") by `bisect_right` on the
  same float64 edges;
- dates, with `dates_as_years` (what `sequence.profile_frame` does: a date or datetime
  column enters as its Int32 year): Python's `.year` of the value polars hands out, which
  is in the column's time zone as polars' `dt.year()` is. The year is then encoded as any
  Int32 value.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, time, timedelta
from typing import Final

import numpy as np
import polars as pl

from recsys.models.features import FeatureEncoder

MAX_CACHED_VALUES: Final = 65_536  # per column; a cleared cache only costs recomputation
_NO_FEATURE: Final = -1


class RowFeatures:
    """`encoder.transform(frame)` of one row, as sorted feature ids (all values 1)."""

    def __init__(self, encoder: FeatureEncoder, *, dates_as_years: bool = False) -> None:
        self.encoder = encoder
        self.dates_as_years = dates_as_years
        self._single = [FeatureEncoder((e,)) for e in encoder.encodings]
        self._columns = [e.column for e in encoder.encodings]
        self._offsets = np.cumsum([0, *(len(e.values) for e in encoder.encodings)])[:-1].tolist()
        self._cache: list[dict[tuple, int]] = [{} for _ in encoder.encodings]
        # binned columns: edges as float64 (what tokens() searches) and bin token -> feature
        self._bins = [
            (
                tuple(np.asarray(e.edges, dtype=np.float64).tolist()),
                {token: i for i, token in enumerate(e.values)},
            )
            if e.kind == "bins"
            else None
            for e in encoder.encodings
        ]

    def indices(self, frame: pl.DataFrame, row: int = 0) -> np.ndarray | None:
        """Feature ids (int64, ascending) of frame row `row`.

        None where only the frame path can answer: a column is missing (transform names
        it), or with dates_as_years a time or duration value (no year to take). Columns the
        encoder does not use are not looked at.
        """
        names = frame.columns
        if not all(c in names for c in self._columns):
            return None
        values = frame.row(row) if self._columns else ()
        out = []
        for i, column in enumerate(self._columns):
            value = values[names.index(column)]
            if value is None:
                continue  # nulls give no feature
            if self.dates_as_years and isinstance(value, date | time | timedelta):
                if not isinstance(value, date):
                    return None  # a time or a duration has no year
                value = value.year  # datetime is a date; its year is in its time zone
                local = self._cached(i, value, frame, pl.Int32)
            elif self._bins[i] is not None and type(value) in (int, float):
                local = _bin_feature(float(value), *self._bins[i])
            else:
                local = self._cached(i, value, frame, None)
            if local != _NO_FEATURE:
                out.append(self._offsets[i] + local)
        return np.array(out, dtype=np.int64)

    def _cached(
        self, i: int, value: object, frame: pl.DataFrame, dtype: type[pl.DataType] | None
    ) -> int:
        """The feature of column i's value, by FeatureEncoder.transform the first time.

        `dtype`: the value's dtype when it is not the frame column's (a date's year).
        """
        key = (type(value), value)
        cache = self._cache[i]
        local = cache.get(key) if value == value else None  # NaN: never equal, never a key
        if local is not None:
            return local
        column = self._columns[i]
        schema = {column: dtype or frame.schema[column]}
        hit = self._single[i].transform(pl.DataFrame({column: [value]}, schema=schema)).indices
        local = int(hit[0]) if len(hit) else _NO_FEATURE
        if value == value:
            if len(cache) >= MAX_CACHED_VALUES:
                cache.clear()
            cache[key] = local
        return local


def _bin_feature(x: float, edges: tuple[float, ...], features: dict[str, int]) -> int:
    """The feature of a number's bin (tokens(): searchsorted side="right"; NaN: none)."""
    if x != x:
        return _NO_FEATURE
    return features.get(str(bisect_right(edges, x)), _NO_FEATURE)
