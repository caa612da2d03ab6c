"""Erased customers out of a dataset: training never learns from a customer who was erased."""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.stores.erasure import subject_digest


def without_erased(data: BankData, subjects: Collection[str]) -> tuple[BankData, int]:
    """The dataset without the customers whose digest is in `subjects`, and how many went."""
    if not subjects:
        return data, 0
    ids = data.customers.get_column(C.customer_id)
    # a cryptographic digest has no vectorised form in polars; this runs only after erasures
    digests = pl.Series([subject_digest(c) for c in ids.to_list()], dtype=pl.String)
    erased = ids.filter(digests.is_in(list(subjects)))
    if erased.is_empty():
        return data, 0
    keep = ~pl.col(C.customer_id).is_in(erased.to_list())
    kept = BankData(
        customers=data.customers.filter(keep),
        products=data.products,
        events=data.events.filter(keep),
    )
    return kept, erased.len()
