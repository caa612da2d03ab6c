"""`recsys train --events-from-store`: the event store's feedback joins the dataset's events.

The store's events are validated like the dataset's own, before anything is trained, and every
problem names the "event store" with 1-based rows of the store frame (oldest first, as exported):
canonical columns and dtypes, known event types and channels, no future timestamps, customers
and products the dataset knows, no close of something not held (replayed over both sources
together), and no event that the dataset already has (it would count twice).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.data.checks_closes import SHOWN, close_without_holding_query
from recsys.data.checks_columns import type_table
from recsys.data.checks_refs import reference_problems
from recsys.data.checks_rows import RowCheck, rows_problem, run_row_checks
from recsys.data.checks_values import event_checks
from recsys.data.dataset import BankData
from recsys.data.load import load_dataset
from recsys.data.problems import DataValidationError, Problem
from recsys.data.read import RawTable
from recsys.data.schema import EVENTS
from recsys.data.validate import validate_dataset
from recsys.stores.tables import OFFER_ID, REQUEST_ID

STORE_SOURCE: Final = "event store"
MERGED_SOURCE: Final = "dataset events (after merging the event store)"
_CLOSE_MESSAGE: Final = (
    "close of a product the customer does not hold (no earlier purchase left to close)"
)
_KEY: Final = (C.customer_id, C.product_id, C.event, C.timestamp)


def load_training_data(
    data_dir: Path,
    *,
    extra_events: pl.DataFrame | None,
    event_types: Collection[str],
    channels: Collection[str] | None,
    now: datetime | None = None,
) -> BankData:
    """The validated dataset, its events joined by `extra_events`; DataValidationError if bad."""
    if extra_events is None:
        return load_dataset(data_dir, now=now, event_types=event_types, channels=channels)
    now = now or datetime.now(UTC)
    data, problems = validate_dataset(data_dir, now=now, event_types=event_types, channels=channels)
    table, found = type_table(
        RawTable(STORE_SOURCE, "parquet", extra_events.drop(REQUEST_ID, OFFER_ID, strict=False)),
        EVENTS,
    )
    problems += found
    if not found:
        checks = event_checks(now, event_types, channels)
        problems += run_row_checks(table.frame, STORE_SOURCE, checks)
        if data is not None:
            problems += _cross_problems(data, table.frame)
    if problems or data is None:
        raise DataValidationError(problems=problems)
    return replace(data, events=pl.concat([data.events, table.frame]))


def _cross_problems(data: BankData, store: pl.DataFrame) -> list[Problem]:
    """Unknown ids, events the dataset already has, and closes that find nothing held."""
    problems = reference_problems(
        STORE_SOURCE, store, data.customers, data.products, check_closes=False
    )
    seen = data.events.select(*_KEY).unique().with_columns(pl.lit(True).alias("_seen"))
    flags = store.select(*_KEY).join(seen, on=list(_KEY), how="left", maintain_order="left")
    problems += run_row_checks(
        flags,
        STORE_SOURCE,
        [
            RowCheck(
                C.timestamp,
                "already in the dataset's events (would count twice)",
                pl.col("_seen"),
                shown=pl.concat_str(C.customer_id, C.product_id, C.event, separator="/"),
            )
        ],
    )
    if problems:  # unknown ids would also make the close replay accuse valid closes
        return problems
    n = data.events.height
    wrong = close_without_holding_query(pl.concat([data.events, store])).collect()
    ours, theirs = wrong.filter(pl.col(C.row) > n), wrong.filter(pl.col(C.row) <= n)
    if ours.height:
        problems.append(
            rows_problem(STORE_SOURCE, C.event, _CLOSE_MESSAGE, ours[C.row] - n, ours[SHOWN])
        )
    if theirs.height:
        problems.append(
            rows_problem(MERGED_SOURCE, C.event, _CLOSE_MESSAGE, theirs[C.row], theirs[SHOWN])
        )
    return problems
