"""Customer state at the training cutoff: profiles, interaction history and holdings.

Besides what the models score, a snapshot keeps the facts that reasons cite (recsys.engine.facts):
when each customer last bought and last looked at (viewed or clicked) each product.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.holdings import holdings_at
from recsys.data.idmap import IdMap
from recsys.data.interactions import build_interactions, interactions_from_holdings, internal_ids

BOUGHT = (Events.purchase,)
LOOKED = (Events.view, Events.click)  # "you looked at X"
MOMENTS = ("bought_at", "looked_at")


@dataclass(frozen=True)
class Snapshot:
    """Everything known about customers and products as of `as_of`, aligned to the id maps."""

    customers: pl.DataFrame  # canonical customers, in `customer_map` order
    products: pl.DataFrame  # canonical products, in `product_map` order
    customer_map: IdMap
    product_map: IdMap
    history: sp.csr_matrix  # weighted interactions (customers x products), what models score
    held: sp.csr_matrix  # holdings quantities at as_of (customers x products)
    as_of: datetime
    # last purchase / last view or click per (customer, product): int64 UTC microseconds
    # since the epoch, no cell = never (empty for a snapshot saved before they were kept)
    bought_at: sp.csr_matrix | None = field(default=None)
    looked_at: sp.csr_matrix | None = field(default=None)

    def __post_init__(self) -> None:
        shape = self.history.shape
        for name in MOMENTS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, sp.csr_matrix(shape, dtype=np.int64))

    @classmethod
    def build(
        cls,
        data: BankData,
        *,
        weights: dict[str, float],
        half_life_days: float | None,
        as_of: datetime,
    ) -> Snapshot:
        """The state of every customer in `data` at `as_of` (events after it are ignored)."""
        customer_map = IdMap.from_values(data.customers[C.customer_id])
        product_map = IdMap.from_values(data.products[C.product_id])
        events = data.events.filter(pl.col(C.timestamp) <= as_of)
        history = build_interactions(
            events,
            customers=customer_map,
            products=product_map,
            weights=weights,
            half_life_days=half_life_days,
            as_of=as_of,
        )
        holdings = holdings_at(events, data.products, as_of, sort=False)
        held = interactions_from_holdings(holdings, customer_map, product_map)
        return cls(
            customers=_in_order(data.customers, C.customer_id, customer_map),
            products=_in_order(data.products, C.product_id, product_map),
            customer_map=customer_map,
            product_map=product_map,
            history=_canonical(history.matrix),
            held=_canonical(held.matrix),
            as_of=as_of,
            bought_at=last_moments(events, BOUGHT, customer_map, product_map),
            looked_at=last_moments(events, LOOKED, customer_map, product_map),
        )

    def save(self, folder: Path) -> None:
        """Write as Parquet + npz (no pickle)."""
        folder.mkdir(parents=True, exist_ok=True)
        self.customers.write_parquet(folder / "customers.parquet")
        self.products.write_parquet(folder / "products.parquet")
        for name in ("history", "held", *MOMENTS):
            m: sp.csr_matrix = getattr(self, name)
            np.savez(folder / f"{name}.npz", data=m.data, indices=m.indices, indptr=m.indptr,
                     shape=np.asarray(m.shape))

    @classmethod
    def load(cls, folder: Path, as_of: datetime) -> Snapshot:
        """Read a snapshot written by `save`."""
        customers = pl.read_parquet(folder / "customers.parquet")
        products = pl.read_parquet(folder / "products.parquet")
        return cls(
            customers=customers,
            products=products,
            customer_map=IdMap(customers[C.customer_id].to_numpy()),
            product_map=IdMap(products[C.product_id].to_numpy()),
            history=_read_csr(folder / "history.npz"),
            held=_read_csr(folder / "held.npz"),
            as_of=as_of,
            **{
                m: _read_csr(folder / f"{m}.npz")
                for m in MOMENTS
                if (folder / f"{m}.npz").is_file()
            },
        )


def last_moments(
    events: pl.DataFrame, kinds: tuple[str, ...], customers: IdMap, products: IdMap
) -> sp.csr_matrix:
    """(customers x products) int64 CSR: the newest `kinds` event's UTC microseconds per pair."""
    last = (
        events.lazy()
        .filter(pl.col(C.event).is_in(list(kinds)))
        .group_by(C.customer_id, C.product_id)
        .agg(pl.col(C.timestamp).max().dt.epoch("us").alias("_at"))
        .collect()
    )
    rows = internal_ids(last[C.customer_id], customers, "customer")
    cols = internal_ids(last[C.product_id], products, "product")
    shape = (len(customers), len(products))
    m = sp.csr_matrix((last["_at"].to_numpy().astype(np.int64), (rows, cols)), shape=shape)
    return _canonical(m)


def _in_order(frame: pl.DataFrame, key: str, ids: IdMap) -> pl.DataFrame:
    order = ids.to_internal_series(frame[key])
    return frame.with_columns(order.alias("_order")).sort("_order").drop("_order")


def _read_csr(path: Path) -> sp.csr_matrix:
    with np.load(path, allow_pickle=False) as z:
        m = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
    m.sum_duplicates()  # canonical: a state reads a row's cells as they are (state.dense_rows)
    return m


def _canonical(m: sp.csr_matrix) -> sp.csr_matrix:
    """The matrix with sorted, distinct cells in each row."""
    m.sum_duplicates()
    return m
