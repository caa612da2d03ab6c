"""What every model is fitted on: the interaction matrix plus optional feature frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions


@dataclass(frozen=True)
class TrainData:
    """Interactions (CSR customers x products with id maps) and the profile/product frames."""

    interactions: Interactions
    customer_features: pl.DataFrame | None = None  # customer_id + profile columns
    product_features: pl.DataFrame | None = None  # product_id + category, risk_rating, ...

    def customers_aligned(self) -> pl.DataFrame:
        """customer_features with one row per matrix row, in internal customer order."""
        if self.customer_features is None:
            raise ValueError("this model needs customer_features in TrainData")
        return align_to_ids(
            self.customer_features, C.customer_id, self.interactions.customers, "customer_features"
        )

    def products_aligned(self) -> pl.DataFrame:
        """product_features with one row per matrix column, in internal product order."""
        if self.product_features is None:
            raise ValueError("this model needs product_features in TrainData")
        return align_to_ids(
            self.product_features, C.product_id, self.interactions.products, "product_features"
        )


def align_to_ids(frame: pl.DataFrame, id_col: str, ids: IdMap, what: str) -> pl.DataFrame:
    """Rows of `frame` reordered to follow `ids`; missing or duplicate ids raise ValueError."""
    if id_col not in frame.columns:
        raise ValueError(f"{what}: column {id_col} is missing (columns: {frame.columns})")
    dup = frame.filter(pl.col(id_col).is_duplicated())[id_col].unique().sort().head(5)
    if dup.len():
        raise ValueError(f"{what}, column {id_col}: duplicate ids {dup.to_list()}")
    internal = ids.to_internal_series(frame[id_col])
    keep = frame.with_columns(internal.alias("_row")).filter(pl.col("_row").is_not_null())
    if keep.height != len(ids):
        present = np.zeros(len(ids), dtype=bool)
        present[keep["_row"].to_numpy()] = True
        missing = ids.to_external(np.flatnonzero(~present)[:5]).tolist()
        raise ValueError(
            f"{what}, column {id_col}: {len(ids) - keep.height} ids of the interaction matrix "
            f"have no row, e.g. {missing}"
        )
    return keep.sort("_row").drop("_row")
