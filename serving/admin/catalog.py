"""What an offer may name, read from the serving model's snapshot (products, segments, ...)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from recsys.columns import Columns as C
from recsys.engine.engine import Engine
from serving._proto.recsys.v1 import admin_pb2 as pb


def catalog_to_pb(engine: Engine, version: str, channels: Sequence[str]) -> pb.Catalog:
    """The catalog message of `engine`'s snapshot; `channels` as configured."""
    snapshot = engine.snapshot
    products = snapshot.products
    risk = products[C.risk_rating].to_list() if C.risk_rating in products.columns else None
    category = products[C.category].to_list() if C.category in products.columns else None
    return pb.Catalog(
        model_version=version,
        products=[
            pb.CatalogProduct(
                product_id=str(pid),
                name=engine.product_names[i],
                category=str(category[i]) if category else "",
                risk_rating=int(risk[i]) if risk and risk[i] is not None else 0,
            )
            for i, pid in enumerate(snapshot.product_map.ids)
        ],
        channels=list(channels),
        segments=_values(snapshot.customers, C.segment),
        income_bands=_values(snapshot.customers, C.income_band),
        regions=_values(snapshot.customers, C.region),
        customers=len(snapshot.customer_map),
    )


def _values(customers: pl.DataFrame, column: str) -> list[str]:
    """The distinct non-null values of a customer column, sorted (none when it is absent)."""
    if column not in customers.columns:
        return []
    return sorted(customers[column].drop_nulls().cast(pl.String).unique().to_list())
