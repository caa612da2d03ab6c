"""Santander importer on the real sample, and on small hand-made sources with every quirk."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from recsys.columns import CATEGORIES, Events
from recsys.columns import Columns as C
from recsys.data.importers import ImportResult, ImportSourceError, import_santander
from recsys.data.importers.defaults import DEFAULT_RISK_TOLERANCE, UNKNOWN_SEGMENT, Extra
from recsys.data.importers.santander import EVENTS_FILE, PRODUCTS_FILE
from recsys.data.importers.santander_catalog import CATALOGUE
from recsys.data.importers.santander_profiles import MATCHED_FACT, PROFILES_FILE

FIRST = datetime(2015, 1, 28, tzinfo=UTC)


@pytest.fixture(scope="module")
def source(real_dataset: Callable[[str], Path]) -> Path:
    return real_dataset("santander")


@pytest.fixture(scope="module")
def imported(source: Path) -> ImportResult:
    return import_santander(source)


@pytest.fixture(scope="module")
def raw_events(source: Path) -> pl.DataFrame:
    return pl.read_csv(source / EVENTS_FILE)


def test_every_source_row_is_an_event_or_counted(
    imported: ImportResult, raw_events: pl.DataFrame
) -> None:
    report = imported.report
    assert report.rows_read[EVENTS_FILE] == raw_events.height == 32_954
    assert imported.data.events.height + report.skipped_count("events", EVENTS_FILE) == 32_954
    assert imported.data.events.height == 32_954  # the published sample has no bad rows


def test_one_customer_per_user_id_and_24_products(
    imported: ImportResult, raw_events: pl.DataFrame
) -> None:
    customers = imported.data.customers[C.customer_id]
    assert customers.n_unique() == customers.len() == raw_events["USER_ID"].n_unique() == 9_471
    assert sorted(customers.cast(pl.Int64).to_list()) == sorted(
        raw_events["USER_ID"].unique().to_list()
    )
    assert imported.data.products.height == 24
    assert imported.report.skipped_count("products") == 0


def test_first_snapshot_rows_are_purchases_at_that_date(
    imported: ImportResult, raw_events: pl.DataFrame
) -> None:
    events = imported.data.events
    assert (events[C.event] == Events.purchase).all()
    at_start = raw_events.filter(pl.col("TIMESTAMP") == raw_events["TIMESTAMP"].min()).height
    assert at_start == 29_089
    assert events.filter(pl.col(C.timestamp) == FIRST).height == at_start
    assert events.filter(pl.col(C.timestamp) > FIRST).height == 3_865
    assert events[C.timestamp].max() == datetime(2016, 5, 28, tzinfo=UTC)


def test_hand_checked_customers(imported: ImportResult) -> None:
    events = imported.data.events
    held = events.filter(pl.col(C.customer_id) == "15889").sort(C.product_id)
    assert held[C.product_id].to_list() == [
        "ind_cco_fin_ult1",
        "ind_ctpp_fin_ult1",
        "ind_tjcr_fin_ult1",
        "ind_valo_fin_ult1",
    ]
    assert (held[C.timestamp] == FIRST).all()
    # 15891 holds nothing at the start and opens a current account on 2015-07-28.
    later = events.filter(pl.col(C.customer_id) == "15891")
    assert later.rows() == [
        ("15891", "ind_cco_fin_ult1", Events.purchase, datetime(2015, 7, 28, tzinfo=UTC))
    ]
    tolerance = dict(imported.data.customers.select(C.customer_id, C.risk_tolerance).iter_rows())
    assert tolerance["15889"] == 4  # holds securities (R4) at the start
    assert tolerance["15891"] == DEFAULT_RISK_TOLERANCE


def test_risk_tolerance_covers_every_first_snapshot_holding(imported: ImportResult) -> None:
    data = imported.data
    rated = data.events.join(data.products, on=C.product_id).join(data.customers, on=C.customer_id)
    at_start = rated.filter(pl.col(C.timestamp) == FIRST)
    assert (at_start[C.risk_rating] <= at_start[C.risk_tolerance]).all()
    expected = at_start.group_by(C.customer_id).agg(
        pl.col(C.risk_rating).max().clip(DEFAULT_RISK_TOLERANCE)
    )
    got = data.customers.join(expected, on=C.customer_id, how="left").with_columns(
        pl.col(C.risk_rating).fill_null(DEFAULT_RISK_TOLERANCE)
    )
    assert (got[C.risk_tolerance] == got[C.risk_rating]).all()
    # later purchases above the tolerance are kept, and their count is reported
    above = rated.filter(
        (pl.col(C.timestamp) > FIRST) & (pl.col(C.risk_rating) > pl.col(C.risk_tolerance))
    )
    noted = [a for a in imported.report.adjusted if "above the customer's risk" in a.note]
    assert above.height > 0 and [a.count for a in noted] == [above.height]


def test_profiles_are_joined_and_defaults_documented(imported: ImportResult, source: Path) -> None:
    customers = imported.data.customers
    assert imported.report.facts[MATCHED_FACT] == 0  # the README: no overlap with the profile file
    assert imported.report.skipped_count("customers", PROFILES_FILE) == 9_999
    heads = pl.read_csv(source / PROFILES_FILE, infer_schema=False)
    ages = (
        heads.filter(pl.col("segmento") == "02 - PARTICULARES")["age"]
        .str.strip_chars()
        .cast(pl.Int32)
    )
    assert customers[C.birth_year].unique().to_list() == [2014 - round(ages.median())] == [1974]
    assert customers[Extra.profile_imputed].all()
    assert (customers[C.segment] == UNKNOWN_SEGMENT).all()
    assert not customers[C.marketing_consent].any()


def test_catalogue_maps_onto_canonical_categories(imported: ImportResult) -> None:
    products = imported.data.products
    assert set(products[C.category]) <= set(CATEGORIES)
    assert products[C.product_id].sort().to_list() == sorted(CATALOGUE)
    assert products[C.name].n_unique() == 24  # the two "Pensions" are told apart
    ratings = dict(products.select(C.product_id, C.risk_rating).iter_rows())
    assert (
        ratings["ind_valo_fin_ult1"],
        ratings["ind_fond_fin_ult1"],
        ratings["ind_plan_fin_ult1"],
    ) == (4, 3, 2)
    junior = products.filter(pl.col(C.product_id) == "ind_ctju_fin_ult1")
    assert junior[C.max_age].item() == 17


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_output_passes_the_strict_validator(
    imported: ImportResult, tmp_path: Path, assert_validates: Callable[..., None], fmt: str
) -> None:
    assert_validates(imported, tmp_path / "out", fmt)


def _quirky_source(folder: Path, write_lines: Callable[..., Path]) -> Path:
    """Every quirk the importer must count: padding, NA, junk, unknown codes, repeats."""
    jan, feb = 1422403200, 1425081600
    write_lines(
        folder / EVENTS_FILE,
        [
            "USER_ID,ITEM_ID,TIMESTAMP",
            f" 100 ,ind_cco_fin_ult1,{jan}",  # padded id: customer "100"
            f"100,ind_valo_fin_ult1,{feb}",  # later purchase above tolerance C3
            f"100,ind_valo_fin_ult1,{feb + 1}",  # repeated pair: earliest kept
            f"NA,ind_cco_fin_ult1,{jan}",  # no customer
            "200,ind_cco_fin_ult1,abc",  # junk timestamp: 200 stays a customer
            f"300,ind_zzz_fin_ult1,{jan}",  # unknown product
            f"300,ind_fond_fin_ult1,{jan}",
        ],
    )
    write_lines(
        folder / PRODUCTS_FILE,
        [
            "item_id,item_name,image,description",
            "ind_cco_fin_ult1,Current Accounts,3.jpg,",
            "ind_cco_fin_ult1,Again,3.jpg,",
            "ind_valo_fin_ult1,Securities,20.jpg,",
            "ind_fond_fin_ult1,Funds,14.jpg,",
            "ind_new_fin_ult1,Something new,99.jpg,",
        ],
    )
    header = "ncodpers,age,segmento,renta,nomprov,fecha_alta,sexo"
    write_lines(
        folder / PROFILES_FILE,
        [
            header,
            '100, 35,02 - PARTICULARES,87218.1,"MALAGA",2015-01-12,H',
            "300, NA,03 - UNIVERSITARIO,NA,SORIA,someday,V",
            "999, 50,02 - PARTICULARES,NA,SORIA,2010-01-01,V",
        ],
    )
    return folder


def test_quirks_are_counted_never_silent(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    result = import_santander(_quirky_source(tmp_path, write_lines))
    report, data = result.report, result.data
    skipped = {(s.item, s.reason): s.count for s in report.skipped}
    assert skipped == {
        ("products", "item_id repeated (first kept)"): 1,
        ("products", "code has no category/risk mapping"): 1,
        ("events", "empty USER_ID"): 1,
        ("events", "TIMESTAMP is not whole Unix seconds"): 1,
        ("events", "ITEM_ID not among the imported products"): 1,
        ("events", "repeated (USER_ID, ITEM_ID) row (earliest kept)"): 1,
        ("customers", "profile of a customer absent from adoption_events.csv"): 1,
    }
    assert data.events.height + report.skipped_count("events") == report.rows_read[EVENTS_FILE] == 7
    assert data.customers[C.customer_id].to_list() == ["100", "200", "300"]
    assert data.products[C.name].to_list() == ["Current Accounts", "Funds", "Securities"]
    assert report.facts[MATCHED_FACT] == 2


def test_quirky_profiles_map_as_documented(
    tmp_path: Path, write_lines: Callable[..., Path]
) -> None:
    result = import_santander(_quirky_source(tmp_path, write_lines))
    rows = {r[C.customer_id]: r for r in result.data.customers.iter_rows(named=True)}
    assert rows["100"][C.birth_year] == 2014 - 35
    assert (rows["100"][C.segment], rows["100"][C.region], rows["100"][C.income_band]) == (
        "particulares",
        "MALAGA",
        "50k_100k",
    )
    assert rows["100"][C.joined_at] == date(2015, 1, 12) and rows["100"][Extra.sex] == "H"
    assert rows["100"][Extra.profile_imputed] is False
    # 300: age NA -> default year (median PARTICULARES age is 35 and 50 -> 42.5 -> 42)
    assert rows["300"][C.birth_year] == 2014 - 42 and rows["300"][Extra.profile_imputed] is True
    assert rows["300"][C.segment] == "universitario" and rows["300"][C.joined_at] is None
    assert rows["300"][C.risk_tolerance] == 3  # funds (R3) held: not above the default
    assert rows["200"][C.segment] == UNKNOWN_SEGMENT and rows["200"][C.region] is None
    notes = {a.note: a.count for a in result.report.adjusted}
    assert notes["fecha_alta not understood: treated as missing"] == 1
    assert notes["profile without a usable age: birth_year 1972"] == 1


def test_missing_file_is_named(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    write_lines(tmp_path / EVENTS_FILE, ["USER_ID,ITEM_ID,TIMESTAMP"])
    with pytest.raises(ImportSourceError, match=f"missing {PRODUCTS_FILE}, {PROFILES_FILE}"):
        import_santander(tmp_path)


def test_missing_column_is_named(tmp_path: Path, write_lines: Callable[..., Path]) -> None:
    _quirky_source(tmp_path, write_lines)
    write_lines(tmp_path / EVENTS_FILE, ["USER_ID,PRODUCT,TIMESTAMP", "1,ind_cco_fin_ult1,1"])
    with pytest.raises(ImportSourceError, match=f"{EVENTS_FILE}: missing column\\(s\\) ITEM_ID"):
        import_santander(tmp_path)
