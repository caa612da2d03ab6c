"""Berka importer on the real PKDD'99 files, and on small hand-made sources."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.importers import ImportResult, ImportSourceError, import_berka
from recsys.data.importers.berka import DISPONENT_FACT
from recsys.data.importers.defaults import Extra


def day(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, tzinfo=UTC)


@pytest.fixture(scope="module")
def source(real_dataset: Callable[[str], Path]) -> Path:
    return real_dataset("berka")


@pytest.fixture(scope="module")
def imported(source: Path) -> ImportResult:
    return import_berka(source)


def read(source: Path, name: str) -> pl.DataFrame:
    return pl.read_csv(source / name, separator=";", infer_schema=False)


def count(events: pl.DataFrame, product: str, event: str = Events.purchase) -> int:
    return events.filter((pl.col(C.product_id) == product) & (pl.col(C.event) == event)).height


def test_every_client_is_a_customer(imported: ImportResult, source: Path) -> None:
    clients = read(source, "client.asc")
    customers = imported.data.customers
    assert customers.height + imported.report.skipped_count("customers") == clients.height == 5_369
    assert set(customers[C.customer_id]) == set(clients["client_id"])
    disponents = read(source, "disp.asc").filter(pl.col("type") == "DISPONENT").height
    assert imported.report.facts[DISPONENT_FACT] == disponents == 869


def test_source_rows_reconcile_with_events(imported: ImportResult, source: Path) -> None:
    events, report = imported.data.events, imported.report
    assert count(events, "current_account") == read(source, "account.asc").height == 4_500
    cards = read(source, "card.asc")
    for kind in ("junior", "classic", "gold"):
        assert count(events, f"card_{kind}") == cards.filter(pl.col("type") == kind).height
    assert sum(count(events, f"card_{k}") for k in ("junior", "classic", "gold")) == 892
    loans = read(source, "loan.asc")
    assert count(events, "loan") == loans.height == 682
    assert (
        count(events, "loan", Events.close)
        == loans.filter(pl.col("status").is_in(["A", "B"])).height
    )
    orders = read(source, "order.asc")
    from_orders = events.filter(pl.col(C.product_id).str.ends_with("_order")).height
    assert from_orders + report.skipped_count("events", "order.asc") == orders.height == 6_471
    assert (
        report.skipped_count("events", "order.asc")
        == orders.filter(pl.col("k_symbol").str.strip_chars() == "").height
    )
    assert report.skipped_count("events") == 1_379  # only the orders without a purpose


def test_hand_checked_owner_and_disponent(imported: ImportResult) -> None:
    customers = {r[C.customer_id]: r for r in imported.data.customers.iter_rows(named=True)}
    # client 1: birth_number 706213 -> woman (62 - 50 = December) born 1970, district 18 Pisek
    one = customers["1"]
    assert (one[C.birth_year], one[Extra.sex], one[Extra.district], one[C.region]) == (
        1970,
        "F",
        "Pisek",
        "south Bohemia",
    )
    assert one[C.joined_at] == date(1995, 3, 24) and one[Extra.disposition] == "owner"
    # client 3: 406009 -> woman born 1940, disponent of client 2's account: no events
    three = customers["3"]
    assert (three[C.birth_year], three[Extra.sex], three[Extra.disposition]) == (
        1940,
        "F",
        "disponent",
    )
    assert three[C.joined_at] == date(1993, 2, 26)
    assert imported.data.events.filter(pl.col(C.customer_id) == "3").is_empty()
    assert customers["2"][Extra.sex] == "M" and customers["2"][C.birth_year] == 1945
    # client 2 owns account 2 (1993-02-26): two orders, loan 4959 (A, 24 months, 80952)
    two = imported.data.events.filter(pl.col(C.customer_id) == "2").sort(C.timestamp, C.product_id)
    assert two.rows() == [
        ("2", "current_account", Events.purchase, day(1993, 2, 26), None),
        ("2", "household_order", Events.purchase, day(1993, 2, 26), 7266.0),
        ("2", "loan_payment_order", Events.purchase, day(1993, 2, 26), 3372.7),
        ("2", "loan", Events.purchase, day(1994, 1, 5), 80952.0),
        ("2", "loan", Events.close, day(1996, 1, 5), None),
    ]


def test_cards_belong_to_the_client_of_their_disposition(imported: ImportResult) -> None:
    # card 1005: disp 9285 -> client 9593, classic, issued 931107
    cards = imported.data.events.filter(pl.col(C.customer_id) == "9593")
    assert ("9593", "card_classic", Events.purchase, day(1993, 11, 7), None) in cards.rows()


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_output_passes_the_strict_validator(
    imported: ImportResult, tmp_path: Path, assert_validates: Callable[..., None], fmt: str
) -> None:
    assert_validates(imported, tmp_path / "out", fmt)


def _tiny_source(folder: Path, write_lines: Callable[..., Path]) -> Path:
    """A Berka-shaped folder (quoted, ';', CRLF) with one of each problem the importer counts."""
    crlf = "\r\n"
    files = {
        "account.asc": [
            '"account_id";"district_id";"frequency";"date"',
            '1;1;"POPLATEK MESICNE";930101',
            '2;1;"POPLATEK TYDNE";931301',
            '3;1;"POPLATEK MESICNE";940101',
        ],
        "client.asc": [
            '"client_id";"birth_number";"district_id"',
            '1;"706213";1',
            '2;"451399";1',
            '3;"800101";9',
        ],
        "disp.asc": [
            '"disp_id";"client_id";"account_id";"type"',
            '1;1;1;"OWNER"',
            '2;2;2;"OWNER"',
            '3;3;3;"DISPONENT"',
        ],
        "card.asc": [
            '"card_id";"disp_id";"type";"issued"',
            '1;1;"gold";931107 00:00:00',
            '2;1;"platinum";931107 00:00:00',
            '3;99;"classic";931107 00:00:00',
        ],
        "loan.asc": [
            '"loan_id";"account_id";"date";"amount";"duration";"payments";"status"',
            '1;1;930705;1000;12;90.00;"B"',
            '2;3;930705;1000;12;90.00;"C"',
        ],
        "order.asc": [
            '"order_id";"account_id";"bank_to";"account_to";"amount";"k_symbol"',
            '1;1;"YZ";"1";10.00;"SIPO"',
            '2;1;"YZ";"1";10.00;" "',
            '3;1;"YZ";"1";x;"POJISTNE"',
            '4;1;"YZ";"1";10.00;"LOTTERY"',
        ],
        "district.asc": ["A1;A2;A3;A4", '1;"Hl.m. Praha";"Prague";1'],
    }
    for name, lines in files.items():
        write_lines(folder / name, lines, crlf)
    return folder


def test_quirks_are_counted(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    result = import_berka(_tiny_source(tmp_path, write_lines))
    skipped = {(s.file, s.reason): s.count for s in result.report.skipped}
    assert skipped == {
        ("account.asc", "date is not YYMMDD"): 1,  # month 13
        ("account.asc", "no OWNER disposition in disp.asc"): 1,
        ("card.asc", "disp_id not in disp.asc"): 1,
        ("card.asc", "type not one of junior, classic, gold"): 1,
        ("loan.asc", "account not in account.asc or without an OWNER in disp.asc"): 1,
        ("order.asc", "empty k_symbol (purpose unknown)"): 1,
        ("order.asc", "k_symbol not one of POJISTNE, SIPO, LEASING, UVER"): 1,
        ("client.asc", "birth_number is not YYMMDD (+50 for women)"): 1,  # 451399: no day 99
    }
    data = result.data
    assert data.customers[C.customer_id].to_list() == ["1", "3"]
    three = data.customers.row(1, named=True)
    assert three[C.region] is None and three[Extra.statement_frequency] == "monthly"
    notes = {(a.file, a.note): a.count for a in result.report.adjusted}
    assert notes[("order.asc", "amount not understood: treated as missing")] == 1
    assert notes[("district.asc", "district_id not in district.asc: region null")] == 1
    one = data.events.filter(pl.col(C.customer_id) == "1").sort(C.timestamp, C.product_id, C.event)
    assert one.select(C.product_id, C.event, C.timestamp).rows() == [
        ("current_account", Events.purchase, day(1993, 1, 1)),
        ("household_order", Events.purchase, day(1993, 1, 1)),
        ("insurance_order", Events.purchase, day(1993, 1, 1)),
        ("loan", Events.purchase, day(1993, 7, 5)),
        ("card_gold", Events.purchase, day(1993, 11, 7)),
        ("loan", Events.close, day(1994, 7, 5)),
    ]


def test_missing_files_are_named(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    _tiny_source(tmp_path, write_lines)
    (tmp_path / "card.asc").unlink()
    with pytest.raises(ImportSourceError, match="missing card.asc"):
        import_berka(tmp_path)
