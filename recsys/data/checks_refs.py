"""Rules across tables and rows: events name known customers and products (anti-joins), and
never close a product that is not held (checks_closes)."""

from __future__ import annotations

import polars as pl

from recsys.columns import Columns as C
from recsys.data.checks_closes import SHOWN, close_without_holding_query
from recsys.data.checks_rows import rows_problem
from recsys.data.problems import Problem


def unknown_id_query(events: pl.DataFrame, referenced: pl.DataFrame, key: str) -> pl.LazyFrame:
    """Rows (1-based) and values of events whose `key` is absent from `referenced` (anti-join)."""
    known = referenced.lazy().select(pl.col(key)).drop_nulls()
    return (
        events.lazy()
        .select(pl.col(key))
        .with_row_index(C.row, offset=1)
        .drop_nulls(key)
        .join(known, on=key, how="anti", maintain_order="left")
        .select(C.row, pl.col(key).alias(SHOWN))
    )


def reference_problems(
    file: str,
    events: pl.DataFrame,
    customers: pl.DataFrame | None,
    products: pl.DataFrame | None,
    *,
    check_closes: bool,
) -> list[Problem]:
    """Unknown customers/products (when those tables are usable) and closes without holdings."""
    queries: list[tuple[str, str, pl.LazyFrame]] = []
    if customers is not None:
        queries.append(
            (C.customer_id, "unknown customer", unknown_id_query(events, customers, C.customer_id))
        )
    if products is not None:
        queries.append(
            (C.product_id, "unknown product", unknown_id_query(events, products, C.product_id))
        )
    if check_closes:
        message = (
            "close of a product the customer does not hold (no earlier purchase left to close)"
        )
        queries.append((C.event, message, close_without_holding_query(events)))
    # collect_all runs the anti-joins and the replay side by side
    results = pl.collect_all([q for _, _, q in queries])
    return [
        rows_problem(file, column, message, found[C.row], found[SHOWN])
        for (column, message, _), found in zip(queries, results, strict=True)
        if found.height
    ]
