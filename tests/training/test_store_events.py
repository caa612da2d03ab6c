"""load_training_data: the event store's events join the dataset, validated like its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.load import load_dataset
from recsys.data.problems import DataValidationError, Problem
from recsys.stores.sql_events import EVENT_LOG_SCHEMA
from recsys.stores.tables import OFFER_ID, REQUEST_ID
from training.store_events import (
    ALREADY_IN_DATASET,
    CLOSE_NOT_HELD,
    STORE_SOURCE,
    UNKNOWN_CUSTOMER,
    UNKNOWN_PRODUCT,
    TrainingData,
    load_training_data,
    load_with_store,
)

NOW = datetime(2024, 8, 1, tzinfo=UTC)
CHANNELS = ["mobile", "web", "branch", "call_center", "atm"]


def store_frame(*rows: tuple) -> pl.DataFrame:
    """Events as EventStore.export returns them: (customer, product, event, time, channel)."""
    data = [(*r, None, "req", None) for r in rows]
    return pl.DataFrame(data, schema=EVENT_LOG_SCHEMA, orient="row")


def load(folder: Path, extra: pl.DataFrame | None) -> BankData:
    return load_training_data(folder, extra_events=extra, event_types=Events.all,
                              channels=CHANNELS, now=NOW)


def merged(folder: Path, extra: pl.DataFrame) -> TrainingData:
    return load_with_store(folder, extra_events=extra, event_types=Events.all,
                           channels=CHANNELS, now=NOW)


def problems(folder: Path, extra: pl.DataFrame) -> list[Problem]:
    with pytest.raises(DataValidationError) as err:
        load(folder, extra)
    return err.value.problems


def at(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 12, tzinfo=UTC)


def test_without_store_events_it_is_the_dataset(tiny_dataset_dir: Path) -> None:
    assert load(tiny_dataset_dir, None).events.equals(
        load_dataset(tiny_dataset_dir, now=NOW).events
    )


def test_store_events_are_appended_in_canonical_form(tiny_dataset_dir: Path) -> None:
    extra = store_frame(("c5", "p3", "purchase", at(7, 2), "mobile"),
                        ("c5", "p3", "close", at(7, 3), None))
    data = load(tiny_dataset_dir, extra)
    base = load_dataset(tiny_dataset_dir, now=NOW)
    assert data.events.height == base.events.height + 2
    assert data.events.schema == base.events.schema  # request/offer ids are not training data
    assert REQUEST_ID not in data.events.columns and OFFER_ID not in data.events.columns
    assert data.events.tail(2)[C.customer_id].to_list() == ["c5", "c5"]
    assert data.customers.equals(base.customers)


def test_unknown_types_channels_and_times_name_the_event_store(tiny_dataset_dir: Path) -> None:
    extra = store_frame(
        ("c1", "p1", "view", at(7, 1), "mobile"),
        ("c1", "p1", "like", at(7, 1), "mobile"),
        ("c1", "p1", "view", datetime(2030, 1, 1, tzinfo=UTC), "mobile"),
        ("c1", "p1", "view", at(7, 1), "fax"),
        ("c1", "p1", "view", datetime(1, 1, 1, tzinfo=UTC), "mobile"),
    )
    found = {(p.file, p.column, p.rows) for p in problems(tiny_dataset_dir, extra)}
    assert found == {
        (STORE_SOURCE, C.event, (2,)),
        (STORE_SOURCE, C.timestamp, (3,)),
        (STORE_SOURCE, C.channel, (4,)),
        (STORE_SOURCE, C.timestamp, (5,)),
    }


def test_a_few_minutes_ahead_is_the_clock_skew_recordevents_allows(tiny_dataset_dir: Path) -> None:
    extra = store_frame(("c1", "p1", "view", NOW + timedelta(minutes=4), "mobile"))
    assert load(tiny_dataset_dir, extra).events.height == 16


def test_new_customers_and_unknown_products_are_left_out_and_counted(
    tiny_dataset_dir: Path,
) -> None:
    extra = store_frame(
        ("c1", "p1", "view", at(7, 1), "mobile"),
        ("NEW-1", "p1", "purchase", at(7, 1), "mobile"),
        ("NEW-2", "NOPE", "view", at(7, 1), "mobile"),
        ("c1", "NOPE", "view", at(7, 1), "mobile"),
    )
    out = merged(tiny_dataset_dir, extra)
    assert out.left_out == {UNKNOWN_CUSTOMER: 2, UNKNOWN_PRODUCT: 1}
    assert out.data.events.height == 16 and out.data.events[-1, C.customer_id] == "c1"
    assert out.left_out_lines() == [
        f"2 event(s) from the event store {UNKNOWN_CUSTOMER}: left out",
        f"1 event(s) from the event store {UNKNOWN_PRODUCT}: left out",
    ]


def test_events_the_dataset_already_has_are_left_out(tiny_dataset_dir: Path) -> None:
    extra = store_frame(("c3", "p5", "view", at(7, 1), "web"),
                        ("c1", "p1", "purchase", datetime(2024, 1, 3, 9, 30, tzinfo=UTC), None))
    out = merged(tiny_dataset_dir, extra)
    assert out.left_out == {ALREADY_IN_DATASET: 1}
    assert out.data.events.height == 16


def test_closes_are_replayed_over_both_sources(tiny_dataset_dir: Path) -> None:
    # c4 never held p1: the store's close is wrong. c1 held two p4 until the dataset closed
    # one on 2024-04-02; two store closes in March use both up, so that close would be wrong:
    # the store's closes of the pair go, the dataset's stays
    extra = store_frame(("c4", "p1", "close", at(7, 1), "branch"),
                        ("c1", "p4", "close", at(3, 1), "branch"),
                        ("c1", "p4", "close", at(3, 2), "branch"),
                        ("c3", "p3", "close", at(7, 2), "branch"))
    out = merged(tiny_dataset_dir, extra)
    assert out.left_out == {CLOSE_NOT_HELD: 3}
    assert out.data.events.tail(1).select(C.customer_id, C.product_id).row(0) == ("c3", "p3")


def test_store_frame_columns_are_checked(tiny_dataset_dir: Path) -> None:
    extra = store_frame(("c1", "p1", "view", at(7, 1), "mobile")).drop(C.event)
    (problem,) = problems(tiny_dataset_dir, extra)
    assert (problem.file, problem.column, problem.message) == (
        STORE_SOURCE, C.event, "missing required column"
    )


def test_dataset_problems_are_still_reported(tmp_path: Path, write_tiny_dataset) -> None:  # noqa: ANN001
    folder = write_tiny_dataset(tmp_path / "bad")
    (folder / "products.parquet").unlink()
    found = problems(folder, store_frame(("c1", "p1", "view", at(7, 1), "mobile")))
    assert [str(p) for p in found] == ["products.parquet or products.csv: missing file"]
