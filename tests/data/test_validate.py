"""validate_dataset: each kind of problem names its file, column and exact rows; all reported."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.dataset import BankData
from recsys.data.problems import Problem
from recsys.data.validate import validate_dataset
from recsys.data.write import write_dataset

NOW = datetime(2024, 12, 31, tzinfo=UTC)


def set_cells(frame: pl.DataFrame, column: str, rows: dict[int, object]) -> pl.DataFrame:
    """`frame` with the given 1-based rows of `column` replaced (same dtype)."""
    values = frame[column].to_list()
    for row, value in rows.items():
        values[row - 1] = value
    return frame.with_columns(pl.Series(column, values, dtype=frame.schema[column]))


def problems_of(
    tmp_path: Path, data: BankData, fmt: str = "parquet", **kwargs: object
) -> list[Problem]:
    folder = write_dataset(data, tmp_path / "ds", fmt=fmt)
    result, problems = validate_dataset(folder, now=kwargs.pop("now", NOW), **kwargs)
    assert result is None and problems, "expected the dataset to be rejected"
    return problems


def only(problems: list[Problem], file: str, column: str | None, text: str) -> Problem:
    """The single problem of `file`/`column` whose message contains `text`."""
    found = [p for p in problems if p.file == file and p.column == column and text in p.message]
    assert len(found) == 1, f"want one {file}/{column}/{text!r} in:\n" + "\n".join(
        map(str, problems)
    )
    return found[0]


def test_tiny_dataset_is_valid(tiny_dataset_dir: Path, tiny_bank_data: BankData) -> None:
    data, problems = validate_dataset(tiny_dataset_dir, now=NOW)
    assert problems == []
    assert data is not None and data.summary() == tiny_bank_data.summary()


def test_missing_folder_is_a_problem(tmp_path: Path) -> None:
    data, problems = validate_dataset(tmp_path / "nope")
    assert data is None and "not found" in problems[0].message


def test_missing_file_and_both_formats(tmp_path: Path, write_tiny_dataset) -> None:
    folder = write_tiny_dataset(tmp_path / "ds", "parquet")
    (folder / "customers.parquet").unlink()
    products = pl.read_parquet(folder / "products.parquet").drop(C.channels, C.tags)
    products.write_csv(folder / "products.csv")
    _, problems = validate_dataset(folder, now=NOW)
    assert only(problems, "customers.parquet or customers.csv", None, "missing file")
    assert only(problems, "products.parquet and products.csv", None, "both")
    # events are still checked on their own: no spurious unknown-id problems without the tables
    assert not [p for p in problems if p.file.startswith("events")]


def test_unreadable_files(tmp_path: Path, write_tiny_dataset) -> None:
    folder = write_tiny_dataset(tmp_path / "ds", "csv")
    (folder / "customers.csv").unlink()
    (folder / "customers.parquet").write_bytes(b"not parquet at all")
    (folder / "products.csv").write_text("product_id,name,product_id\np1,a,p1\n")
    (folder / "events.csv").write_text("customer_id,product_id\nc1,p1,extra\n")
    _, problems = validate_dataset(folder, now=NOW)
    assert "cannot read PARQUET" in only(problems, "customers.parquet", None, "cannot read").message
    assert only(problems, "products.csv", C.product_id, "more than once")
    assert only(problems, "events.csv", None, "cannot read CSV")


def test_missing_and_unknown_columns_keep_checking(
    tmp_path: Path, tiny_bank_data: BankData
) -> None:
    data = replace(
        tiny_bank_data,
        events=set_cells(tiny_bank_data.events.drop(C.timestamp), C.product_id, {4: "zz"}),
        products=tiny_bank_data.products.with_columns(pl.lit(1).alias("colour")),
    )
    problems = problems_of(tmp_path, data)
    assert only(problems, "events.parquet", C.timestamp, "missing required column")
    assert only(problems, "products.parquet", "colour", "unknown column")
    assert only(problems, "events.parquet", C.product_id, "unknown product").rows == (4,)


def test_nulls_and_blanks_in_required_columns(tmp_path: Path, tiny_bank_data: BankData) -> None:
    data = replace(
        tiny_bank_data,
        events=set_cells(tiny_bank_data.events, C.customer_id, {3: None, 5: None, 9: " "}),
        customers=set_cells(tiny_bank_data.customers, C.marketing_consent, {2: None}),
    )
    problems = problems_of(tmp_path, data)
    missing = only(problems, "events.parquet", C.customer_id, "missing value")
    assert missing.rows == (3, 5, 9) and missing.count == 3
    assert only(problems, "customers.parquet", C.marketing_consent, "missing value").rows == (2,)
    # a missing id is reported once, not again as an unknown customer
    assert not [p for p in problems if "unknown customer" in p.message]


def test_duplicate_keys_name_every_copy(tmp_path: Path, tiny_bank_data: BankData) -> None:
    data = replace(
        tiny_bank_data,
        customers=set_cells(tiny_bank_data.customers, C.customer_id, {4: "c1"}),
        products=set_cells(tiny_bank_data.products, C.product_id, {5: "p2", 6: "p2"}),
    )
    problems = problems_of(tmp_path, data)
    dup = only(problems, "customers.parquet", C.customer_id, "duplicate key")
    assert dup.rows == (1, 4) and dup.values == ("c1", "c1")
    assert only(problems, "products.parquet", C.product_id, "duplicate key").rows == (2, 5, 6)


def test_unknown_customers_and_products(tmp_path: Path, tiny_bank_data: BankData) -> None:
    events = set_cells(
        tiny_bank_data.events, C.customer_id, {r: f"x{r}" for r in (1, 2, 5, 6, 9, 12, 14)}
    )
    data = replace(tiny_bank_data, events=set_cells(events, C.product_id, {13: "ZZZ9"}))
    problems = problems_of(tmp_path, data)
    unknown = only(problems, "events.parquet", C.customer_id, "unknown customer")
    assert unknown.rows == (1, 2, 5, 6, 9) and unknown.count == 7
    assert unknown.values == ("x1", "x2", "x5", "x6", "x9")
    assert "(+2 more)" in str(unknown)
    product = only(problems, "events.parquet", C.product_id, "unknown product")
    assert (product.rows, product.values) == ((13,), ("ZZZ9",))


def test_unknown_event_types_against_configured_set(
    tmp_path: Path, tiny_bank_data: BankData
) -> None:
    data = replace(tiny_bank_data, events=set_cells(tiny_bank_data.events, C.event, {10: "like"}))
    problems = problems_of(tmp_path, data)
    assert only(problems, "events.parquet", C.event, "unknown event type").rows == (10,)
    # with a narrower configured set, the tiny data's own views are unknown too
    types = [e for e in Events.all if e != Events.view]
    narrower = problems_of(tmp_path, tiny_bank_data, event_types=types)
    assert only(narrower, "events.parquet", C.event, "unknown event type").rows == (5, 13)


def test_unknown_channels_only_when_a_set_is_given(
    tmp_path: Path, tiny_bank_data: BankData
) -> None:
    events = set_cells(tiny_bank_data.events, C.channel, {2: "kiosk"})
    products = set_cells(
        tiny_bank_data.products, C.channels, {4: ["mobile", "fax"], 5: ["", "web"]}
    )
    data = replace(tiny_bank_data, events=events, products=products)
    channels = ("mobile", "web", "branch", "call_center", "atm")
    problems = problems_of(tmp_path, data, channels=channels)
    event = only(problems, "events.parquet", C.channel, "unknown channel")
    assert (event.rows, event.values) == ((2,), ("kiosk",))  # null channels (rows 8, 15) are fine
    product = only(problems, "products.parquet", C.channels, "unknown channel")
    assert (product.rows, product.values) == ((4,), ("fax",))
    assert only(problems, "products.parquet", C.channels, "empty channel name").rows == (5,)
    without_set = problems_of(tmp_path, data)
    assert [p.message for p in without_set] == ["empty channel name in the list"]


def test_ratings_and_tolerances_outside_1_to_5(tmp_path: Path, tiny_bank_data: BankData) -> None:
    data = replace(
        tiny_bank_data,
        customers=set_cells(tiny_bank_data.customers, C.risk_tolerance, {2: 0, 5: 6}),
        products=set_cells(tiny_bank_data.products, C.risk_rating, {3: 9}),
    )
    problems = problems_of(tmp_path, data)
    tolerance = only(problems, "customers.parquet", C.risk_tolerance, "outside 1-5")
    assert (tolerance.rows, tolerance.values) == ((2, 5), ("0", "6"))
    assert only(problems, "products.parquet", C.risk_rating, "outside 1-5").rows == (3,)


def test_future_timestamps_against_now(tmp_path: Path, tiny_bank_data: BankData) -> None:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    problems = problems_of(tmp_path, tiny_bank_data, now=now)
    future = only(problems, "events.parquet", C.timestamp, "in the future")
    assert future.rows == (8, 14, 15)
    # a naive `now` is UTC; an aware one in another zone is the same instant
    assert validate_dataset(tmp_path / "ds", now=datetime(2024, 6, 30, 12))[1] == []
    just_before = datetime(2024, 6, 30, 13, 59, tzinfo=timezone(timedelta(hours=2)))
    late = validate_dataset(tmp_path / "ds", now=just_before)[1]
    assert only(late, "events.parquet", C.timestamp, "future").rows == (15,)


def test_product_and_customer_ranges(tmp_path: Path, tiny_bank_data: BankData) -> None:
    products = set_cells(tiny_bank_data.products, C.min_age, {6: 70})
    products = set_cells(products, C.active_to, {2: date(2019, 12, 31)})
    products = set_cells(products, C.max_age, {1: 200})
    customers = set_cells(tiny_bank_data.customers, C.birth_year, {3: 1850})
    customers = set_cells(customers, C.joined_at, {1: date(2025, 1, 1)})
    events = set_cells(tiny_bank_data.events, C.amount, {1: -5.0, 2: float("nan"), 3: float("inf")})
    problems = problems_of(tmp_path, BankData(customers, products, events))
    assert only(problems, "products.parquet", C.min_age, "greater than max_age").rows == (6,)
    assert only(problems, "products.parquet", C.active_from, "after active_to").rows == (2,)
    assert only(problems, "products.parquet", C.max_age, "outside 0-150").rows == (1,)
    assert only(problems, "customers.parquet", C.birth_year, "outside 1900-2024").rows == (3,)
    assert only(problems, "customers.parquet", C.joined_at, "in the future").rows == (1,)
    assert only(problems, "events.parquet", C.amount, "negative").rows == (1,)
    assert only(problems, "events.parquet", C.amount, "not a finite").rows == (2, 3)


def test_close_of_a_product_never_bought(tmp_path: Path, tiny_bank_data: BankData) -> None:
    # row 9: c3 closes p3 before buying it at row 11; row 15: c4 closes p2 never bought by c4
    events = set_cells(tiny_bank_data.events, C.event, {9: Events.close, 15: Events.close})
    problems = problems_of(tmp_path, replace(tiny_bank_data, events=events))
    close = only(problems, "events.parquet", C.event, "does not hold")
    assert (close.rows, close.values) == ((9, 15), ("c3/p3", "c4/p2"))


def test_more_closes_than_purchases(tmp_path: Path, tiny_bank_data: BankData) -> None:
    # c1 bought p4 twice and closed once (row 4): closing at rows 5 and 6 too leaves one too many
    extra = pl.DataFrame(
        {
            C.customer_id: ["c1", "c1"],
            C.product_id: ["p4", "p4"],
            C.event: [Events.close, Events.close],
            C.timestamp: [datetime(2024, 4, 3, tzinfo=UTC), datetime(2024, 4, 4, tzinfo=UTC)],
            C.channel: [None, None],
            C.amount: [None, None],
        },
        schema=tiny_bank_data.events.schema,
    )
    events = pl.concat([tiny_bank_data.events.head(4), extra, tiny_bank_data.events.slice(4)])
    close = only(
        problems_of(tmp_path, replace(tiny_bank_data, events=events)),
        "events.parquet",
        C.event,
        "hold",
    )
    assert close.rows == (6,)


def test_close_replay_ignores_wrong_closes_and_orders_ties(
    tmp_path: Path, tiny_bank_data: BankData
) -> None:
    at = [datetime(2024, 1, d, tzinfo=UTC) for d in (1, 2, 3, 5, 5)]
    # c5/p5: close (wrong: row 16), purchase, close (fine: it closes that purchase);
    # c5/p1: a close listed before a purchase at the same instant (fine: purchase counts first)
    pattern = [Events.close, Events.purchase, Events.close, Events.close, Events.purchase]
    events = pl.DataFrame(
        {
            C.customer_id: ["c5"] * 5,
            C.product_id: ["p5", "p5", "p5", "p1", "p1"],
            C.event: pattern,
            C.timestamp: at,
            C.channel: [None] * 5,
            C.amount: [None] * 5,
        },
        schema=tiny_bank_data.events.schema,
    )
    data = replace(tiny_bank_data, events=pl.concat([tiny_bank_data.events, events]))
    close = only(problems_of(tmp_path, data), "events.parquet", C.event, "does not hold")
    assert close.rows == (16,) and close.count == 1


def test_unreadable_history_does_not_accuse_valid_closes(
    tmp_path: Path, write_tiny_dataset
) -> None:
    # c1/p4: the close at row 4 loses its timestamp, the purchase at row 3 its event type; c2/p2:
    # the close at row 8 is kept but its purchase (row 7) has no type. Nothing can be replayed.
    folder = write_tiny_dataset(tmp_path / "ds", "csv")
    path = folder / "events.csv"
    events = pl.read_csv(path, infer_schema=False)
    stamps, types = events[C.timestamp].to_list(), events[C.event].to_list()
    stamps[3], types[2], types[6] = "last tuesday", None, None
    events.with_columns(pl.Series(C.timestamp, stamps), pl.Series(C.event, types)).write_csv(path)
    _, problems = validate_dataset(folder, now=NOW)
    assert {(p.column, p.rows) for p in problems} == {(C.timestamp, (4,)), (C.event, (3, 7))}


def test_every_problem_is_reported_in_one_run(tmp_path: Path, tiny_bank_data: BankData) -> None:
    data = BankData(
        customers=set_cells(tiny_bank_data.customers, C.risk_tolerance, {1: 7}),
        products=set_cells(tiny_bank_data.products, C.name, {2: None}),
        events=set_cells(tiny_bank_data.events, C.customer_id, {1: "ghost"}),
    )
    problems = problems_of(tmp_path, data, fmt="csv")
    assert {(p.file, p.column) for p in problems} == {
        ("customers.csv", C.risk_tolerance),
        ("products.csv", C.name),
        ("events.csv", C.customer_id),
    }
    assert str(only(problems, "events.csv", C.customer_id, "unknown")) == (
        "events.csv, column customer_id, row 1: unknown customer ['ghost']"
    )


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_problem_rows_are_data_rows_in_both_formats(
    tmp_path: Path, tiny_bank_data: BankData, fmt: str
) -> None:
    data = replace(
        tiny_bank_data, products=set_cells(tiny_bank_data.products, C.risk_rating, {6: 0})
    )
    problem = only(
        problems_of(tmp_path, data, fmt=fmt), f"products.{fmt}", C.risk_rating, "outside"
    )
    assert problem.rows == (6,) and problem.values == ("0",)


def test_product_values_and_terms(tmp_path: Path, tiny_bank_data: BankData) -> None:
    products = set_cells(tiny_bank_data.products, C.value, {1: -5.0, 2: float("inf"), 3: 40.0})
    products = set_cells(products, C.term_months, {4: 900, 5: 12})
    problems = problems_of(tmp_path, replace(tiny_bank_data, products=products))
    assert only(problems, "products.parquet", C.value, "negative value").rows == (1,)
    assert only(problems, "products.parquet", C.value, "not a finite number").rows == (2,)
    assert only(problems, "products.parquet", C.term_months, "outside 0-600").rows == (4,)
    assert len(problems) == 3
