"""Import the PKDD'99 Czech bank data (Berka; see ../shared/datasets/README.md).

Source -> canonical (products and events: see berka_catalog and berka_events):

- customers: one per client.asc row. birth_number is YYMMDD with 50 added to the month for
  women: birth_year = 1900 + YY (every client was born in the 1900s), extra column sex F/M.
  region = the region (A3) of the client's district, extra column district = its name (A2).
  joined_at = opening date of the account of the client's disposition; extra columns
  disposition (owner/disponent) and statement_frequency (monthly/weekly/after_transaction,
  from the account). The data has no segment ("unknown"), no KYC and no consent: the
  defaults of defaults.py apply.
- ids: customer_id = client_id, as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.data.dataset import BankData
from recsys.data.importers import berka_events as ev
from recsys.data.importers.berka_catalog import products_frame
from recsys.data.importers.defaults import UNKNOWN_SEGMENT, Extra, default_profile_columns
from recsys.data.importers.report import ImportReport, ImportResult
from recsys.data.importers.source import conform, read_text_table, require_files
from recsys.data.schema import CUSTOMERS, EVENTS, PRODUCTS

CLIENT_FILE, DISTRICT_FILE = "client.asc", "district.asc"
DISTRICT_ID, BIRTH_NUMBER, FREQUENCY = "district_id", "birth_number", "frequency"
# district.asc names its columns A1..A16: A1 id, A2 district name, A3 region name
DISTRICT_CODE, DISTRICT_NAME, REGION_NAME = "A1", "A2", "A3"
COLUMNS: Final = {
    ev.ACCOUNT_FILE: (ev.ACCOUNT_ID, DISTRICT_ID, FREQUENCY, ev.DATE),
    CLIENT_FILE: (ev.CLIENT_ID, BIRTH_NUMBER, DISTRICT_ID),
    ev.DISP_FILE: (ev.DISP_ID, ev.CLIENT_ID, ev.ACCOUNT_ID, ev.TYPE),
    ev.CARD_FILE: (ev.DISP_ID, ev.TYPE, ev.ISSUED),
    ev.LOAN_FILE: (ev.ACCOUNT_ID, ev.DATE, ev.AMOUNT, ev.DURATION, ev.STATUS),
    ev.ORDER_FILE: (ev.ACCOUNT_ID, ev.AMOUNT, ev.K_SYMBOL),
    DISTRICT_FILE: (DISTRICT_CODE, DISTRICT_NAME, REGION_NAME),
}
FILES: Final = tuple(COLUMNS)
FREQUENCIES: Final = {
    "POPLATEK MESICNE": "monthly",
    "POPLATEK TYDNE": "weekly",
    "POPLATEK PO OBRATU": "after_transaction",
}
CUSTOMER_EXTRA: Final = (Extra.sex, Extra.district, Extra.disposition, Extra.statement_frequency)
DISPONENT_FACT: Final = "clients who are only disponents (customers without events)"


def import_berka(src: Path) -> ImportResult:
    """Berka clients, derived products and their events from `src` as a canonical dataset."""
    require_files(src, FILES)
    report = ImportReport("berka")
    t = {
        f: report.read(f, read_text_table(src / f, cols, separator=";"))
        for f, cols in COLUMNS.items()
    }
    owned = ev.account_owners(t[ev.ACCOUNT_FILE], t[ev.DISP_FILE])
    events = pl.concat(
        [
            ev.account_events(owned, report),
            ev.card_events(t[ev.CARD_FILE], t[ev.DISP_FILE], report),
            ev.loan_events(t[ev.LOAN_FILE], owned, report),
            ev.order_events(t[ev.ORDER_FILE], owned, report),
        ]
    )
    customers = _customers(t, report)
    events = report.dropper("events", CLIENT_FILE)(
        events,
        ~pl.col(C.customer_id).is_in(customers[C.customer_id].implode()),
        "holder's client row was counted out",
    )
    with_events = customers[C.customer_id].is_in(events[C.customer_id].implode())
    report.fact(
        DISPONENT_FACT,
        customers.filter(~with_events & (pl.col(Extra.disposition) == ev.DISPONENT.lower())).height,
    )
    data = BankData(
        customers=conform(customers.sort(C.customer_id), CUSTOMERS, CUSTOMER_EXTRA),
        products=conform(products_frame(), PRODUCTS),
        events=conform(events.sort(C.timestamp, C.customer_id, C.product_id, C.event), EVENTS),
    )
    return ImportResult(data, report)


def _customers(t: dict[str, pl.DataFrame], report: ImportReport) -> pl.DataFrame:
    """One row per client with a valid birth_number; profile columns from disp/account/district."""
    out = (
        _clients(t[CLIENT_FILE], report)
        .join(_districts(t[DISTRICT_FILE], report), on=DISTRICT_ID, how="left")
        .join(_dispositions(t), on=ev.CLIENT_ID, how="left")
    )
    report.adjust(
        "customers",
        DISTRICT_FILE,
        "district_id not in district.asc: region null",
        out.filter(pl.col(C.region).is_null()).height,
    )
    report.adjust(
        "customers",
        ev.DISP_FILE,
        "client without a disposition: joined_at null",
        out.filter(pl.col(Extra.disposition).is_null()).height,
    )
    return out.select(
        pl.col(ev.CLIENT_ID).alias(C.customer_id),
        pl.col("_born").dt.year().cast(pl.Int32).alias(C.birth_year),
        pl.lit(UNKNOWN_SEGMENT).alias(C.segment),
        *default_profile_columns(),
        C.region,
        C.joined_at,
        *CUSTOMER_EXTRA,
    )


def _clients(clients: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """client.asc rows with a unique id and a valid birth_number (_born, sex); others counted."""
    drop = report.dropper("customers", CLIENT_FILE)
    clients = drop(clients, pl.col(ev.CLIENT_ID).is_null(), "empty client_id")
    clients = drop(
        clients, ~pl.col(ev.CLIENT_ID).is_first_distinct(), "client_id repeated (first kept)"
    )
    return drop(
        clients.with_columns(_birth(pl.col(BIRTH_NUMBER))),
        pl.col("_born").is_null(),
        "birth_number is not YYMMDD (+50 for women)",
    )


def _districts(districts: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """district id -> district name and region name (a repeated id keeps its first row)."""
    return report.dropper("rows", DISTRICT_FILE)(
        districts.select(
            pl.col(DISTRICT_CODE).alias(DISTRICT_ID),
            pl.col(DISTRICT_NAME).alias(Extra.district),
            pl.col(REGION_NAME).alias(C.region),
        ),
        ~pl.col(DISTRICT_ID).is_first_distinct(),
        "A1 (district id) repeated (first kept)",
    )


def _birth(number: pl.Expr) -> list[pl.Expr]:
    """_born (Date, null if invalid) and sex from a YYMMDD birth_number with women's month +50."""
    month = number.str.slice(2, 2).cast(pl.Int32, strict=False)
    female = month > 50
    real_month = pl.when(female).then(month - 50).otherwise(month)
    text = number.str.slice(0, 2) + real_month.cast(pl.String).str.zfill(2) + number.str.slice(4, 2)
    valid = number.str.contains(r"^\d{6}$")
    return [
        ev.berka_date(pl.when(valid).then(text)).alias("_born"),
        pl.when(female).then(pl.lit("F")).otherwise(pl.lit("M")).alias(Extra.sex),
    ]


def _dispositions(t: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per client: its disposition type and the account's opening date and statement frequency."""
    accounts = t[ev.ACCOUNT_FILE].select(
        ev.ACCOUNT_ID,
        ev.berka_date(pl.col(ev.DATE)).alias(C.joined_at),
        pl.col(FREQUENCY).replace(FREQUENCIES).alias(Extra.statement_frequency),
    )
    return (
        t[ev.DISP_FILE]
        .join(accounts, on=ev.ACCOUNT_ID, how="left")
        # A client with several dispositions is described by an owned one, the oldest first.
        .sort(pl.col(ev.TYPE) != ev.OWNER, C.joined_at, nulls_last=True)
        .unique(ev.CLIENT_ID, keep="first", maintain_order=True)
        .select(
            ev.CLIENT_ID,
            C.joined_at,
            Extra.statement_frequency,
            pl.col(ev.TYPE).str.to_lowercase().alias(Extra.disposition),
        )
    )
