"""Berka events: what each client holds, derived from accounts, cards, loans and orders.

- current_account: a purchase by the account's OWNER at the account's `date`.
- card_<type>: a purchase by the client of the card's disposition at `issued`.
- loan: a purchase by the account owner at the loan `date` (amount = loan amount), and a
  close at `date` + `duration` months for loans whose contract is finished (status A or B);
  running loans (C, D) stay held.
- permanent orders: a purchase per order by the account owner (amount = the order amount).
  order.asc has no date, so the account's `date` is used: the earliest the order can have
  existed (it may have been set up later). Orders with an empty k_symbol (20%) have no
  stated purpose and are counted out rather than guessed.
- Disponents (people allowed to use someone else's account) hold nothing themselves: they
  are customers without events. Transactions (trans_sample_head.asc, only the first 5% of
  the table) are payments, not product events, and are not imported.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.importers.berka_catalog import (
    CARD_PRODUCTS,
    CURRENT_ACCOUNT,
    LOAN,
    ORDER_PRODUCTS,
)
from recsys.data.importers.report import ImportReport
from recsys.data.importers.source import count_unparsed, to_utc

ACCOUNT_FILE, DISP_FILE, CARD_FILE = "account.asc", "disp.asc", "card.asc"
LOAN_FILE, ORDER_FILE = "loan.asc", "order.asc"
ACCOUNT_ID, DISP_ID, CLIENT_ID = "account_id", "disp_id", "client_id"
TYPE, DATE, ISSUED, AMOUNT = "type", "date", "issued", "amount"
DURATION, STATUS, K_SYMBOL = "duration", "status", "k_symbol"
OWNER: Final = "OWNER"
DISPONENT: Final = "DISPONENT"
NO_OWNER: Final = "no OWNER disposition in disp.asc"
UNKNOWN_ACCOUNT: Final = "account not in account.asc or without an OWNER in disp.asc"
FINISHED_LOAN: Final = ("A", "B")  # A: finished, paid; B: finished, not paid


def berka_date(text: pl.Expr) -> pl.Expr:
    """YYMMDD (optionally followed by a time) as a Date in 19YY; null if not a valid date."""
    digits = text.str.slice(0, 6)
    return (
        pl.when(digits.str.contains(r"^\d{6}$"))
        .then(pl.lit("19") + digits)
        .str.to_date("%Y%m%d", strict=False)
    )


def account_owners(accounts: pl.DataFrame, disp: pl.DataFrame) -> pl.DataFrame:
    """account_id -> owner customer_id and the account's opening date (_on)."""
    owners = disp.filter(pl.col(TYPE) == OWNER).unique(
        ACCOUNT_ID, keep="first", maintain_order=True
    )
    return accounts.select(ACCOUNT_ID, berka_date(pl.col(DATE)).alias("_on")).join(
        owners.select(ACCOUNT_ID, pl.col(CLIENT_ID).alias(C.customer_id)), on=ACCOUNT_ID, how="left"
    )


def account_events(owned: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """One current_account purchase per account with an owner and a date."""
    owned = _dated_and_owned(owned, report, ACCOUNT_FILE, NO_OWNER, "date is not YYMMDD")
    return _event_rows(owned, pl.lit(CURRENT_ACCOUNT), pl.col("_on"))


def card_events(cards: pl.DataFrame, disp: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """One card_<type> purchase per card, by the client of its disposition, at `issued`."""
    drop = report.dropper("events", CARD_FILE)
    cards = cards.join(
        disp.select(DISP_ID, pl.col(CLIENT_ID).alias(C.customer_id)), on=DISP_ID, how="left"
    )
    cards = drop(cards, pl.col(C.customer_id).is_null(), "disp_id not in disp.asc")
    cards = drop(
        cards,
        ~pl.col(TYPE).is_in(list(CARD_PRODUCTS)),
        f"type not one of {', '.join(CARD_PRODUCTS)}",
    )
    cards = cards.with_columns(berka_date(pl.col(ISSUED)).alias("_on"))
    cards = drop(cards, pl.col("_on").is_null(), "issued is not a YYMMDD date")
    return _event_rows(cards, pl.col(TYPE).replace_strict(CARD_PRODUCTS), pl.col("_on"))


def loan_events(loans: pl.DataFrame, owned: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """A loan purchase per loan, and a close at its end for finished contracts."""
    loans = loans.join(owned.select(ACCOUNT_ID, C.customer_id), on=ACCOUNT_ID, how="left")
    loans = loans.with_columns(berka_date(pl.col(DATE)).alias("_on"))
    loans = _dated_and_owned(loans, report, LOAN_FILE, UNKNOWN_ACCOUNT, "date is not YYMMDD")
    amount = pl.col(AMOUNT).cast(pl.Float64, strict=False)
    count_unparsed(loans, {AMOUNT: amount}, report, LOAN_FILE)
    bought = _event_rows(loans, pl.lit(LOAN), pl.col("_on"), amount)
    months = pl.col(DURATION).cast(pl.Int32, strict=False)
    finished = loans.filter(pl.col(STATUS).is_in(FINISHED_LOAN))
    report.adjust(
        "events",
        LOAN_FILE,
        "finished loan (status A/B) without a usable duration: no close event",
        finished.filter(months.is_null()).height,
    )
    finished = finished.filter(months.is_not_null())
    report.adjust(
        "events", LOAN_FILE, "finished loan (status A/B): close at date + duration", finished.height
    )
    end = pl.col("_on").dt.offset_by(months.cast(pl.String) + "mo")
    closed = _event_rows(finished, pl.lit(LOAN), end, event=Events.close)
    return pl.concat([bought, closed])


def order_events(orders: pl.DataFrame, owned: pl.DataFrame, report: ImportReport) -> pl.DataFrame:
    """One purchase per permanent order with a known k_symbol, dated at the account's opening."""
    drop = report.dropper("events", ORDER_FILE)
    orders = drop(orders, pl.col(K_SYMBOL).is_null(), "empty k_symbol (purpose unknown)")
    orders = drop(
        orders,
        ~pl.col(K_SYMBOL).is_in(list(ORDER_PRODUCTS)),
        f"k_symbol not one of {', '.join(ORDER_PRODUCTS)}",
    )
    orders = orders.join(owned, on=ACCOUNT_ID, how="left")
    orders = _dated_and_owned(
        orders, report, ORDER_FILE, UNKNOWN_ACCOUNT, "its account's date is not YYMMDD"
    )
    report.adjust(
        "events", ORDER_FILE, "order has no date: dated at its account's opening", orders.height
    )
    amount = pl.col(AMOUNT).cast(pl.Float64, strict=False)
    count_unparsed(orders, {AMOUNT: amount}, report, ORDER_FILE)
    return _event_rows(
        orders, pl.col(K_SYMBOL).replace_strict(ORDER_PRODUCTS), pl.col("_on"), amount
    )


def _dated_and_owned(
    frame: pl.DataFrame, report: ImportReport, file: str, no_owner: str, no_date: str
) -> pl.DataFrame:
    """Rows with an owner (customer_id) and a date (_on); others counted out."""
    drop = report.dropper("events", file)
    frame = drop(frame, pl.col(C.customer_id).is_null(), no_owner)
    return drop(frame, pl.col("_on").is_null(), no_date)


def _event_rows(
    frame: pl.DataFrame,
    product: pl.Expr,
    on: pl.Expr,
    amount: pl.Expr | None = None,
    event: str = Events.purchase,
) -> pl.DataFrame:
    """Events in canonical columns (amount null where not given)."""
    return frame.select(
        C.customer_id,
        product.cast(pl.String).alias(C.product_id),
        pl.lit(event).alias(C.event),
        to_utc(on).alias(C.timestamp),
        (pl.lit(None, pl.Float64) if amount is None else amount).alias(C.amount),
    )
