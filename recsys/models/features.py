"""One-hot feature matrices from profile/product frames, with a vocabulary fixed at fit time.

Each chosen column becomes indicator features: categorical values (strings, booleans,
integers with few distinct values) one per value; birth_year one per birth cohort band
(age bands without needing a reference date); other numbers one per quantile bin. Values
unseen at fit time and nulls simply contribute no feature. Rows are normalised to sum 1,
like lightfm.data.Dataset does.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C

logger = logging.getLogger(__name__)

MAX_CATEGORY_INTEGERS = 20  # integer columns with more distinct values are binned instead
N_BINS = 5


@dataclass(frozen=True)
class ColumnEncoding:
    """How one column turns into features: its kind and the fitted vocabulary / bin edges."""

    column: str
    kind: Literal["category", "band", "bins"]
    values: tuple[str, ...]  # feature labels' raw values, in feature order
    band_width: int = 0
    edges: tuple[float, ...] = ()

    def tokens(self, frame: pl.DataFrame) -> pl.Series:
        """Each row's raw value as the string key used in `values` (null = no feature)."""
        s = frame[self.column]
        if self.kind == "band":
            return (s.cast(pl.Int64) // self.band_width * self.band_width).cast(pl.String)
        if self.kind == "bins":
            x = s.cast(pl.Float64).to_numpy()
            bins = np.searchsorted(np.asarray(self.edges), x, side="right").astype(str)
            # nulls set after: polars cannot read an object array that starts with None
            missing = np.flatnonzero(np.isnan(x))
            return pl.Series(bins, dtype=pl.String).scatter(missing, None)
        return s.cast(pl.String)

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
    values = enc.tokens(frame).drop_nulls().unique().sort().to_list()
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

    @property
    def size(self) -> int:
        """Number of features."""
        return sum(len(e.values) for e in self.encodings)

    def labels(self) -> list[str]:
        """Readable feature names in feature order."""
        return [e.label(v) for e in self.encodings for v in e.values]

    def transform(self, frame: pl.DataFrame) -> sp.csr_matrix:
        """Indicator matrix (rows x size float32, not normalised); unseen values/nulls skipped."""
        missing = [e.column for e in self.encodings if e.column not in frame.columns]
        if missing:
            raise ValueError(f"features: columns {missing} are missing (columns: {frame.columns})")
        rows, cols, offset = [], [], 0
        for enc in self.encodings:
            local = (
                enc.tokens(frame)
                .replace_strict(
                    list(enc.values),
                    list(range(len(enc.values))),
                    default=-1,
                    return_dtype=pl.Int64,
                )
                .to_numpy()
            )
            hit = np.flatnonzero(local >= 0)
            rows.append(hit)
            cols.append(local[hit] + offset)
            offset += len(enc.values)
        r, c = (
            np.concatenate([np.zeros(0, np.int64), *rows]),
            np.concatenate([np.zeros(0, np.int64), *cols]),
        )
        return sp.csr_matrix((np.ones(len(r), np.float32), (r, c)), shape=(frame.height, self.size))

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


def normalize_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    """Rows scaled to sum 1 (empty rows stay empty)."""
    sums = np.asarray(m.sum(axis=1)).ravel()
    return sp.csr_matrix(
        sp.diags(np.where(sums > 0, 1.0 / np.maximum(sums, 1e-30), 0.0)) @ m, dtype=np.float32
    )
