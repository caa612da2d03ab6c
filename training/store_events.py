"""`recsys train --events-from-store`: the event store's feedback joins the dataset's events.

The store's events are held to the event contract (recsys.data.contract: canonical columns and
dtypes, known event types and channels, plausible timestamps, finite non-negative amounts), the
same one RecordEvents applies before it stores them; a problem there names the "event store"
with 1-based rows of the store frame (oldest first, as exported) and stops the run.

What RecordEvents may legitimately accept but the dataset cannot take is left out and counted
instead, so that no channel call can stop retraining:
- events of customers the dataset does not know (new customers, who join the dataset later);
- events of products the dataset's catalog does not have (retired since the model was served);
- events the dataset already has (they would count twice);
- closes that find nothing held, replayed over both sources together (a wrong close is ignored
  the way holdings ignore it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.checks_closes import close_without_holding_query
from recsys.data.checks_columns import type_table
from recsys.data.contract import live_event_problems
from recsys.data.dataset import BankData
from recsys.data.load import load_dataset
from recsys.data.problems import DataValidationError
from recsys.data.read import RawTable
from recsys.data.schema import EVENTS
from recsys.data.validate import validate_dataset
from recsys.stores.tables import OFFER_ID, REQUEST_ID

STORE_SOURCE: Final = "event store"
UNKNOWN_CUSTOMER: Final = "of customers the dataset does not know (new customers)"
UNKNOWN_PRODUCT: Final = "of products the dataset's catalog does not have"
ALREADY_IN_DATASET: Final = "already in the dataset's events (they would count twice)"
CLOSE_NOT_HELD: Final = "closing products the customer did not hold"
_KEY: Final = (C.customer_id, C.product_id, C.event, C.timestamp)
_ROW: Final = "_store_row"


@dataclass(frozen=True)
class TrainingData:
    """The dataset with the store's events joined, and the store events left out, by reason."""

    data: BankData
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> events (none: absent)

    def left_out_lines(self) -> list[str]:
        """One sentence per reason, for the operator."""
        return left_out_lines(self.left_out)


def left_out_lines(left_out: dict[str, int]) -> list[str]:
    """One sentence per reason a store event was left out of training, for the operator."""
    return [f"{n} event(s) from the event store {why}: left out" for why, n in left_out.items()]


def load_training_data(
    data_dir: Path,
    *,
    extra_events: pl.DataFrame | None,
    event_types: Collection[str],
    channels: Collection[str] | None,
    now: datetime | None = None,
) -> BankData:
    """The validated dataset, its events joined by `extra_events`; DataValidationError if bad."""
    return load_with_store(
        data_dir,
        extra_events=extra_events,
        event_types=event_types,
        channels=channels,
        now=now,
    ).data


def load_with_store(
    data_dir: Path,
    *,
    extra_events: pl.DataFrame | None,
    event_types: Collection[str],
    channels: Collection[str] | None,
    now: datetime | None = None,
) -> TrainingData:
    """`load_training_data`, with the store events it left out counted by reason."""
    if extra_events is None:
        return TrainingData(
            load_dataset(data_dir, now=now, event_types=event_types, channels=channels)
        )
    now = now or datetime.now(UTC)
    data, problems = validate_dataset(data_dir, now=now, event_types=event_types, channels=channels)
    table, found = type_table(
        RawTable(STORE_SOURCE, "parquet", extra_events.drop(REQUEST_ID, OFFER_ID, strict=False)),
        EVENTS,
    )
    problems += found
    if not found:
        problems += live_event_problems(
            table.frame, STORE_SOURCE, now=now, event_types=event_types, channels=channels
        )
    if problems or data is None:
        raise DataValidationError(problems=problems)
    store, left_out = usable_store_events(data, table.frame)
    return TrainingData(replace(data, events=pl.concat([data.events, store])), left_out)


def usable_store_events(data: BankData, store: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The store events the dataset can take, in their order, and the others counted by reason."""
    left_out: dict[str, int] = {}

    def keep(frame: pl.DataFrame, kept: pl.Expr, why: str) -> pl.DataFrame:
        out = frame.filter(kept)
        if out.height < frame.height:
            left_out[why] = frame.height - out.height
        return out

    customers = data.customers.get_column(C.customer_id)
    products = data.products.get_column(C.product_id)
    store = keep(store, pl.col(C.customer_id).is_in(customers.implode()), UNKNOWN_CUSTOMER)
    store = keep(store, pl.col(C.product_id).is_in(products.implode()), UNKNOWN_PRODUCT)
    seen = data.events.select(*_KEY).unique().with_columns(pl.lit(True).alias("_seen"))
    flagged = store.join(seen, on=list(_KEY), how="left", maintain_order="left")
    store = keep(flagged, pl.col("_seen").is_null(), ALREADY_IN_DATASET).drop("_seen")
    store, dropped = _without_wrong_closes(data.events, store)
    if dropped:
        left_out[CLOSE_NOT_HELD] = dropped
    return store, left_out


def _without_wrong_closes(dataset: pl.DataFrame, store: pl.DataFrame) -> tuple[pl.DataFrame, int]:
    """The store events without the closes that find nothing held, and how many went.

    A store close may find nothing held itself, or use up a holding that a later close of the
    dataset needed: then every store close of that pair goes. The dataset was valid on its own
    and the store's purchases only add holdings, so each round removes a close and the
    rounds end at the latest when no store close is left.
    """
    n = dataset.height
    store = store.with_row_index(_ROW)
    dropped = 0
    while True:
        both = pl.concat([dataset, store.drop(_ROW)])
        wrong = close_without_holding_query(both).collect()
        if wrong.is_empty():
            return store.drop(_ROW), dropped
        rows = wrong.get_column(C.row)
        ours = (rows.filter(rows > n) - n - 1).cast(pl.UInt32)
        theirs = dataset[(rows.filter(rows <= n) - 1).to_list()].select(C.customer_id, C.product_id)
        pair_closes = (
            store.join(theirs.unique(), on=[C.customer_id, C.product_id], how="semi")
            .filter(pl.col(C.event) == Events.close)
            .get_column(_ROW)
        )
        positions = store.get_column(_ROW)
        gone = positions.gather(ours).append(pair_closes).unique()
        if gone.is_empty():  # cannot happen with a valid dataset; never loop for ever
            return store.drop(_ROW), dropped
        store = store.filter(~pl.col(_ROW).is_in(gone.implode()))
        dropped += gone.len()
