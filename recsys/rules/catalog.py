"""The product facts the hard rules need, as arrays aligned to a product IdMap (built once)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap

NO_MIN_AGE = 0
NO_MAX_AGE = np.iinfo(np.int16).max


@dataclass(frozen=True, eq=False)  # arrays have no single truth value
class Catalog:
    """Per-product rule inputs; index i of every array is internal product id i of `products`."""

    products: IdMap
    risk_rating: np.ndarray  # int8 (n,)
    min_age: np.ndarray  # int16 (n,), NO_MIN_AGE when the product has no lower limit
    max_age: np.ndarray  # int16 (n,), NO_MAX_AGE when the product has no upper limit
    active_from: np.ndarray  # datetime64[D] (n,), NaT = no start
    active_to: np.ndarray  # datetime64[D] (n,), NaT = no end (inclusive last day otherwise)
    repeatable: np.ndarray  # bool (n,)
    category: np.ndarray  # str objects (n,)
    channels: tuple[str, ...]  # column order of `sold_in`
    sold_in: np.ndarray  # bool (n, len(channels))

    def __len__(self) -> int:
        return len(self.products)

    def channel_index(self, channel: str) -> int:
        """Column of `channel` in `sold_in`; ValueError naming the known channels otherwise."""
        if channel not in self.channels:
            raise ValueError(f"unknown channel {channel!r}; known channels: {list(self.channels)}")
        return self.channels.index(channel)

    def take(self, products: np.ndarray) -> Catalog:
        """The catalog of `products` (internal ids), in that order."""
        return Catalog(
            products=IdMap(self.products.ids[products]),
            risk_rating=self.risk_rating[products],
            min_age=self.min_age[products],
            max_age=self.max_age[products],
            active_from=self.active_from[products],
            active_to=self.active_to[products],
            repeatable=self.repeatable[products],
            category=self.category[products],
            channels=self.channels,
            sold_in=self.sold_in[products],
        )

    @classmethod
    def from_frame(
        cls, products: pl.DataFrame, product_map: IdMap, channels: Sequence[str]
    ) -> Catalog:
        """Arrays from a canonical products frame, in `product_map` order; bad input raises."""
        aligned = _align(products, product_map)
        channels = tuple(channels)
        n = aligned.height
        return cls(
            products=product_map,
            risk_rating=_required(aligned, C.risk_rating).to_numpy().astype(np.int8),
            min_age=_optional_int(aligned, C.min_age, NO_MIN_AGE, n),
            max_age=_optional_int(aligned, C.max_age, NO_MAX_AGE, n),
            active_from=_optional_date(aligned, C.active_from, n),
            active_to=_optional_date(aligned, C.active_to, n),
            repeatable=_optional_bool(aligned, C.repeatable, n),
            category=_required(aligned, C.category).to_numpy().astype(object),
            channels=channels,
            sold_in=_channel_matrix(aligned, channels),
        )


def _align(products: pl.DataFrame, product_map: IdMap) -> pl.DataFrame:
    """Products reordered to internal ids; every id exactly once, or ValueError."""
    if C.product_id not in products.columns:
        raise ValueError(f"products: missing column {C.product_id}")
    ids = products[C.product_id]
    dupes = ids.filter(ids.is_duplicated()).unique().sort().head(5).to_list()
    if dupes:
        raise ValueError(f"products, column {C.product_id}: duplicate ids {dupes}")
    internal = product_map.to_internal_series(ids)
    extra = ids.filter(internal.is_null()).head(5).to_list()
    if extra:
        raise ValueError(f"products, column {C.product_id}: ids not in the product map: {extra}")
    if products.height != len(product_map):
        known = set(ids.to_list())
        missing = [p for p in product_map.ids.tolist() if p not in known][:5]
        raise ValueError(f"products: ids of the product map missing from products: {missing}")
    return products.with_columns(internal.alias("_internal")).sort("_internal")


def _required(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        raise ValueError(f"products: missing column {column}")
    series = frame[column]
    if series.null_count():
        bad = frame.filter(series.is_null())[C.product_id].head(5).to_list()
        raise ValueError(f"products, column {column}: null for products {bad}")
    return series


def _optional_int(frame: pl.DataFrame, column: str, default: int, n: int) -> np.ndarray:
    if column not in frame.columns:
        return np.full(n, default, dtype=np.int16)
    return frame[column].fill_null(default).to_numpy().astype(np.int16)


def _optional_date(frame: pl.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in frame.columns:
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    return frame[column].cast(pl.Date).to_numpy().astype("datetime64[D]")


def _optional_bool(frame: pl.DataFrame, column: str, n: int) -> np.ndarray:
    if column not in frame.columns:
        return np.zeros(n, dtype=bool)
    return _required(frame, column).to_numpy().astype(bool)


def _channel_matrix(frame: pl.DataFrame, channels: tuple[str, ...]) -> np.ndarray:
    """(n, n_channels) bool; a null or empty channel list means sold in every channel."""
    n = frame.height
    if C.channels not in frame.columns:
        return np.ones((n, len(channels)), dtype=bool)
    lists = frame[C.channels]
    everywhere = (lists.is_null() | (lists.list.len() == 0)).to_numpy()
    pairs = (
        frame.select(pl.int_range(n).alias("_row"), pl.col(C.product_id), pl.col(C.channels))
        .explode(C.channels)
        .drop_nulls(C.channels)
    )
    lookup = {c: i for i, c in enumerate(channels)}
    col = pairs[C.channels].replace_strict(lookup, default=-1, return_dtype=pl.Int64).to_numpy()
    if (col < 0).any():
        unknown = pairs.filter(col < 0)
        raise ValueError(
            f"products, column {C.channels}: unknown channel(s) "
            f"{sorted(set(unknown[C.channels].to_list()))[:5]} for products "
            f"{unknown[C.product_id].unique(maintain_order=True).head(5).to_list()}; "
            f"known channels: {list(channels)}"
        )
    matrix = np.zeros((n, len(channels)), dtype=bool)
    matrix[pairs["_row"].to_numpy(), col] = True
    matrix[everywhere] = True
    return matrix
