"""One-hot features from profile/product frames, with a vocabulary fixed at fit time.

Each chosen column becomes indicator features: categorical values (strings, booleans,
integers with few distinct values) one per value; birth_year one per birth cohort band
(age bands without needing a reference date); other numbers one per quantile bin. Values
unseen at fit time and nulls simply contribute no feature. (LightFM normalises
the rows to sum 1, like lightfm.data.Dataset does.)

A request encodes a one-row frame, a campaign millions of rows, through the same code: a
polars expression has a fixed cost per call far above a row's work, so values are looked
up with numpy and dicts (a dict lookup per value, run by `map` in C) over what cheap
Series conversions (`cast`, `to_list`, `to_numpy`) hand out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from itertools import repeat
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C

logger = logging.getLogger(__name__)

MAX_CATEGORY_INTEGERS = 20  # integer columns with more distinct values are binned instead
N_BINS = 5


def lookup(values: pl.Series, index: Mapping[str, int]) -> np.ndarray:
    """index[value as text] per value (int64); -1 for nulls and values not in `index`."""
    text = values if type(values.dtype) is pl.String else values.cast(pl.String)
    found = map(index.get, text.to_list(), repeat(-1))
    return np.fromiter(found, dtype=np.int64, count=len(values))


def years(values: pl.Series) -> np.ndarray:
    """A date or datetime column's years in its time zone, float64 with NaN where null."""
    dtype = values.dtype
    if dtype == pl.Date or (isinstance(dtype, pl.Datetime) and dtype.time_zone is None):
        stamps = values.to_numpy()  # numpy has no time zones: naive values only
        found = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
        return np.where(np.isnat(stamps), np.nan, found)
    return values.dt.year().cast(pl.Float64).to_numpy()


def year_of(values: pl.Series) -> pl.Series:
    """A date or datetime column as its Int32 year, in the column's time zone (null stays)."""
    return pl.Series(values.name, years(values), nan_to_null=True).cast(pl.Int32)


@dataclass(frozen=True)
class ColumnEncoding:
    """How one column turns into features: its kind and the fitted vocabulary / bin edges."""

    column: str
    kind: Literal["category", "band", "bins"]
    values: tuple[str, ...]  # feature labels' raw values, in feature order
    band_width: int = 0
    edges: tuple[float, ...] = ()

    def tokens(self, s: pl.Series) -> pl.Series:
        """Each value as the string key used in `values` (null = no feature)."""
        if self.kind == "band":
            starts = pl.Series(self._band_starts(s), nan_to_null=True)
            return starts.cast(pl.Int64).cast(pl.String)
        if self.kind == "bins":
            bins, missing = self._bins(s)
            # nulls set after: polars cannot read an object array that starts with None
            return pl.Series(bins.astype(str), dtype=pl.String).scatter(
                np.flatnonzero(missing), None
            )
        return s.cast(pl.String)

    def codes(self, s: pl.Series | np.ndarray) -> np.ndarray:
        """Each value's position in `values` (int64), -1 for no feature.

        `s`: the column, or numbers standing for it (float64, NaN = null): a date column's
        years, which encode as an integer column of those years does.
        """
        if self.kind == "bins":
            bins, missing = self._bins(s)
            found = self._bin_codes[bins]
            found[missing] = -1
            return found
        values, table = self._lookup_values(s)
        return np.fromiter(map(table.get, values, repeat(-1)), np.int64, len(values))

    def _lookup_values(self, s: pl.Series | np.ndarray) -> tuple[list, Mapping[Any, int]]:
        """The values to look up, and the table that finds their positions.

        Integers (a band's years too), text and booleans are looked up as they come, with a
        table per kind of value; other dtypes through what `tokens` makes of them.
        """
        integers = self._band_years if self.kind == "band" else self._integers
        if isinstance(s, np.ndarray):
            return s.tolist(), integers  # 2019.0 finds 2019; NaN finds nothing
        kind = _VALUE_KIND.get(type(s.dtype))
        if kind == "integer":
            return s.to_list(), integers
        if self.kind == "band":
            return s.cast(pl.Int64).to_list(), integers
        if kind == "text":
            return s.to_list(), self._index
        if kind == "boolean":
            return s.to_list(), self._booleans
        return s.cast(pl.String).to_list(), self._index

    def _band_starts(self, s: pl.Series) -> np.ndarray:
        """Birth cohort starts (int64, or float64 with NaN where null)."""
        born = s.cast(pl.Int64).to_numpy()
        return np.floor_divide(born, self.band_width) * self.band_width

    def _bins(self, s: pl.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bin of each value: the number of edges at or below it, mask of nulls and NaN)."""
        x = s.astype(np.float64) if isinstance(s, np.ndarray) else s.cast(pl.Float64).to_numpy()
        return np.searchsorted(np.asarray(self.edges), x, side="right"), np.isnan(x)

    @cached_property
    def _index(self) -> dict[str, int]:
        """Token -> position."""
        return {v: i for i, v in enumerate(self.values)}

    @cached_property
    def _band_years(self) -> dict[int, int]:
        """Year -> position of its cohort band (the years from a band's start on)."""
        width = self.band_width
        return {y: i for i, v in enumerate(self.values) for y in range(int(v), int(v) + width)}

    @cached_property
    def _booleans(self) -> dict[bool, int]:
        """Boolean -> position of its token ("true", "false")."""
        return {
            b: self._index[t] for b, t in ((True, "true"), (False, "false")) if t in self._index
        }

    @cached_property
    def _integers(self) -> dict[int, int]:
        """Integer token -> position, for tokens an integer column's cast to text gives."""
        return {int(v): i for i, v in enumerate(self.values) if _is_integer_text(v)}

    @cached_property
    def _bin_codes(self) -> np.ndarray:
        """Bin number -> position in `values` (-1 for bins no fitted value fell in)."""
        out = np.full(len(self.edges) + 1, -1, dtype=np.int64)
        for i, v in enumerate(self.values):
            out[int(v)] = i
        return out

    def label(self, value: str) -> str:
        """Human-readable name of one feature, e.g. 'segment affluent', 'born 1980-1989'."""
        if self.kind == "band":
            return f"born {value}-{int(value) + self.band_width - 1}"
        if self.kind == "bins":
            lo = ["min", *map(_fmt, self.edges)][int(value)]
            hi = [*map(_fmt, self.edges), "max"][int(value)]
            return f"{self.column} {lo}-{hi}"
        return f"{self.column} {value}"


def _fmt(x: float) -> str:
    return f"{x:g}"


# what a column's values are, by dtype, for ColumnEncoding._lookup_values
_VALUE_KIND: dict[type, str] = {
    pl.String: "text",
    pl.Categorical: "text",
    pl.Enum: "text",
    pl.Boolean: "boolean",
    **dict.fromkeys(
        (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64),
        "integer",
    ),
}
_DATE_TYPES = (pl.Date, pl.Datetime, pl.Time, pl.Duration)  # year_of takes (or refuses) them


def _is_integer_text(value: str) -> bool:
    digits = value.removeprefix("-")
    return digits.isdigit() and str(int(value)) == value


def _choose_encoding(frame: pl.DataFrame, column: str, band_width: int) -> ColumnEncoding | None:
    dtype = frame.schema[column]
    s = frame[column]
    if column == C.birth_year and dtype.is_integer():
        enc = ColumnEncoding(column, "band", (), band_width=band_width)
    elif (
        dtype in (pl.String, pl.Boolean, pl.Categorical)
        or isinstance(dtype, pl.Enum)
        or (dtype.is_integer() and s.n_unique() <= MAX_CATEGORY_INTEGERS)
    ):
        enc = ColumnEncoding(column, "category", ())
    elif dtype.is_numeric():
        x = s.cast(pl.Float64).drop_nulls().to_numpy()
        edges = np.unique(np.quantile(x, np.linspace(0, 1, N_BINS + 1)[1:-1])) if len(x) else []
        enc = ColumnEncoding(column, "bins", (), edges=tuple(float(e) for e in edges))
    else:
        return None
    values = enc.tokens(s).drop_nulls().unique().sort().to_list()
    return ColumnEncoding(enc.column, enc.kind, tuple(values), enc.band_width, enc.edges)


@dataclass(frozen=True)
class FeatureEncoder:
    """Fitted column encodings; feature index = position in the concatenated vocabularies."""

    encodings: tuple[ColumnEncoding, ...]

    @classmethod
    def fit(
        cls,
        frame: pl.DataFrame,
        columns: list[str] | None,
        *,
        skip: tuple[str, ...],
        band_width: int,
    ) -> FeatureEncoder:
        """Vocabularies from `frame`; columns=None takes every usable column not in `skip`."""
        chosen = [c for c in frame.columns if c not in skip] if columns is None else columns
        missing = [c for c in chosen if c not in frame.columns]
        if missing:
            raise ValueError(f"feature columns {missing} are not in the frame ({frame.columns})")
        encodings = []
        for column in chosen:
            enc = _choose_encoding(frame, column, band_width)
            if enc is None and columns is not None:
                raise ValueError(
                    f"feature column {column}: dtype {frame.schema[column]} unsupported"
                )
            if enc is None:
                logger.info("feature column %s (%s) skipped", column, frame.schema[column])
            else:
                encodings.append(enc)
        return cls(tuple(encodings))

    @cached_property
    def size(self) -> int:
        """Number of features."""
        return sum(len(e.values) for e in self.encodings)

    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.cumsum([0, *(len(e.values) for e in self.encodings)], dtype=np.int64)[:-1]

    def labels(self) -> list[str]:
        """Readable feature names in feature order."""
        return [e.label(v) for e in self.encodings for v in e.values]

    def ids(self, frame: pl.DataFrame, *, dates_as_years: bool = False) -> np.ndarray:
        """(rows x encoded columns) int64 feature ids, -1 where a value gives no feature.

        Ids grow with the column, so a row's valid ids are ascending. `dates_as_years`:
        date and datetime columns enter as their year (see `year_of`).
        """
        names = frame.columns
        missing = [e.column for e in self.encodings if e.column not in names]
        if missing:
            raise ValueError(f"features: columns {missing} are missing (columns: {names})")
        out = np.empty((frame.height, len(self.encodings)), dtype=np.int64)
        for j, enc in enumerate(self.encodings):
            values = frame.get_column(enc.column)
            if dates_as_years and type(values.dtype) in _DATE_TYPES:
                out[:, j] = enc.codes(years(values))
            else:
                out[:, j] = enc.codes(values)
        return np.where(out >= 0, out + self._offsets, -1)

    def transform(self, frame: pl.DataFrame, *, dates_as_years: bool = False) -> sp.csr_matrix:
        """Indicator matrix (rows x size float32, not normalised); unseen values/nulls skipped."""
        ids = self.ids(frame, dates_as_years=dates_as_years)
        hit = ids >= 0
        indptr = np.zeros(frame.height + 1, dtype=np.int32)
        np.cumsum(hit.sum(axis=1), out=indptr[1:])
        data = np.ones(int(indptr[-1]), dtype=np.float32)
        cols = ids[hit].astype(np.int32)  # row by row, ascending
        return sp.csr_matrix((data, cols, indptr), shape=(frame.height, self.size))

    def to_json(self) -> list[dict[str, Any]]:
        """JSON-able form for model.json."""
        return [asdict(e) for e in self.encodings]

    @classmethod
    def from_json(cls, doc: list[dict[str, Any]]) -> FeatureEncoder:
        """Inverse of `to_json`."""
        return cls(
            tuple(
                ColumnEncoding(**{**d, "values": tuple(d["values"]), "edges": tuple(d["edges"])})
                for d in doc
            )
        )
