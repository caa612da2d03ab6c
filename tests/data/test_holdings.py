"""holdings_at: replay of purchases and closes, against hand-worked tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from recsys.columns import Columns as C
from recsys.data.holdings import holdings_at
from recsys.data.schema import UTC_DATETIME

# TD is a term deposit (repeatable), CC a credit card and INS insurance (not repeatable).
PRODUCTS = pl.DataFrame(
    {C.product_id: ["TD", "CC", "INS"], C.repeatable: [True, False, False]}
)


def day(d: int, hour: int = 0) -> datetime:
    return datetime(2024, 1, d, hour, tzinfo=UTC)


def events(*rows: tuple[str, str, str, datetime]) -> pl.DataFrame:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], [], []]
    return pl.DataFrame(
        {
            C.customer_id: pl.Series(cols[0], dtype=pl.String),
            C.product_id: pl.Series(cols[1], dtype=pl.String),
            C.event: pl.Series(cols[2], dtype=pl.String),
            C.timestamp: pl.Series(cols[3], dtype=UTC_DATETIME),
        }
    )


def table(*rows: tuple[str, str, int]) -> pl.DataFrame:
    cols = list(zip(*rows, strict=True)) if rows else [[], [], []]
    return pl.DataFrame(
        {
            C.customer_id: pl.Series(cols[0], dtype=pl.String),
            C.product_id: pl.Series(cols[1], dtype=pl.String),
            C.quantity: pl.Series(cols[2], dtype=pl.Int32),
        }
    )


def test_repeatable_counts_units_and_non_repeatable_caps_at_one() -> None:
    ev = events(
        ("C1", "TD", "purchase", day(1)),
        ("C1", "TD", "purchase", day(2)),
        ("C1", "TD", "purchase", day(3)),
        ("C1", "TD", "close", day(4)),
        ("C1", "CC", "purchase", day(1)),
        ("C1", "CC", "purchase", day(2)),  # already held: still 1
        ("C2", "CC", "purchase", day(1)),
        ("C2", "CC", "close", day(2)),  # closed: not listed
        ("C2", "INS", "view", day(3)),  # not an ownership event
        ("C2", "INS", "apply", day(3)),
    )
    expected = table(("C1", "CC", 1), ("C1", "TD", 2))
    assert_frame_equal(holdings_at(ev, PRODUCTS, None), expected)


def test_close_then_repurchase_at_each_cutoff() -> None:
    ev = events(
        ("C1", "CC", "purchase", day(1)),
        ("C1", "CC", "close", day(2)),
        ("C1", "CC", "purchase", day(3)),
    )
    assert_frame_equal(holdings_at(ev, PRODUCTS, day(1)), table(("C1", "CC", 1)))
    assert_frame_equal(holdings_at(ev, PRODUCTS, day(2)), table())
    assert_frame_equal(holdings_at(ev, PRODUCTS, day(3)), table(("C1", "CC", 1)))
    assert_frame_equal(holdings_at(ev, PRODUCTS, None), table(("C1", "CC", 1)))


def test_cutoff_is_inclusive_to_the_microsecond() -> None:
    ev = events(("C1", "TD", "purchase", day(1)), ("C1", "TD", "purchase", day(5, 12)))
    at = day(5, 12)
    assert_frame_equal(holdings_at(ev, PRODUCTS, at), table(("C1", "TD", 2)))
    before = at - timedelta(microseconds=1)
    assert_frame_equal(holdings_at(ev, PRODUCTS, before), table(("C1", "TD", 1)))


def test_cutoff_in_another_zone_is_the_same_instant() -> None:
    ev = events(("C1", "TD", "purchase", day(5, 12)))
    plus_two = timezone(timedelta(hours=2))
    same_instant = datetime(2024, 1, 5, 14, tzinfo=plus_two)
    assert_frame_equal(holdings_at(ev, PRODUCTS, same_instant), table(("C1", "TD", 1)))
    just_before = datetime(2024, 1, 5, 13, 59, tzinfo=plus_two)
    assert_frame_equal(holdings_at(ev, PRODUCTS, just_before), table())


def test_close_without_a_holding_is_ignored_not_carried_forward() -> None:
    # left-censored data: the close of something bought before the data began
    ev = events(
        ("C1", "TD", "close", day(1)),
        ("C1", "TD", "purchase", day(2)),
        ("C2", "CC", "close", day(1)),
        ("C2", "CC", "purchase", day(2)),
        # TD running units 1, 2, 1, 0, (close ignored) 0, 1
        ("C3", "TD", "purchase", day(1)),
        ("C3", "TD", "purchase", day(2)),
        ("C3", "TD", "close", day(3)),
        ("C3", "TD", "close", day(4)),
        ("C3", "TD", "close", day(5)),
        ("C3", "TD", "purchase", day(6)),
    )
    expected = table(("C1", "TD", 1), ("C2", "CC", 1), ("C3", "TD", 1))
    assert_frame_equal(holdings_at(ev, PRODUCTS, None), expected)


def test_purchase_and_close_at_the_same_instant_leave_the_state_unchanged() -> None:
    ev = events(
        # C1 holds CC, then closes and re-buys it at one instant (a renewal): still held
        ("C1", "CC", "purchase", day(1)),
        ("C1", "CC", "close", day(2)),
        ("C1", "CC", "purchase", day(2)),
        # C2 buys and cancels INS at one instant, holding nothing before: not held
        ("C2", "INS", "close", day(2)),
        ("C2", "INS", "purchase", day(2)),
        # repeatable: 1 unit, then +2 -1 at one instant -> 2
        ("C3", "TD", "purchase", day(1)),
        ("C3", "TD", "purchase", day(2)),
        ("C3", "TD", "close", day(2)),
        ("C3", "TD", "purchase", day(2)),
    )
    expected = table(("C1", "CC", 1), ("C3", "TD", 2))
    assert_frame_equal(holdings_at(ev, PRODUCTS, None), expected)


def test_row_order_does_not_matter() -> None:
    ev = events(
        ("C1", "CC", "purchase", day(3)),
        ("C1", "CC", "close", day(2)),
        ("C1", "CC", "purchase", day(1)),
        ("C1", "TD", "close", day(1)),
        ("C1", "TD", "purchase", day(2)),
    )
    expected = table(("C1", "CC", 1), ("C1", "TD", 1))
    for seed in range(3):
        shuffled = ev.sample(fraction=1.0, shuffle=True, seed=seed)
        assert_frame_equal(holdings_at(shuffled, PRODUCTS, None), expected)


def test_products_without_repeatable_column_are_all_single() -> None:
    ev = events(("C1", "TD", "purchase", day(1)), ("C1", "TD", "purchase", day(2)))
    products = PRODUCTS.drop(C.repeatable)
    assert_frame_equal(holdings_at(ev, products, None), table(("C1", "TD", 1)))


def test_empty_events_give_an_empty_typed_table() -> None:
    assert_frame_equal(holdings_at(events(), PRODUCTS, None), table())
    only_views = events(("C1", "TD", "view", day(1)))
    assert_frame_equal(holdings_at(only_views, PRODUCTS, day(2)), table())


def test_unknown_products_raise_naming_them() -> None:
    ev = events(("C1", "ZZZ9", "purchase", day(1)), ("C1", "TD", "purchase", day(1)))
    with pytest.raises(ValueError, match=r"product_id: 1 product\(s\) not in products: \['ZZZ9'\]"):
        holdings_at(ev, PRODUCTS, None)


def test_null_repeatable_flag_raises() -> None:
    products = PRODUCTS.with_columns(
        pl.when(pl.col(C.product_id) == "CC").then(None).otherwise(pl.col(C.repeatable))
        .alias(C.repeatable)
    )
    ev = events(("C1", "CC", "purchase", day(1)))
    with pytest.raises(ValueError, match=r"repeatable: null for products \['CC'\]"):
        holdings_at(ev, products, None)


def test_duplicated_products_raise() -> None:
    products = pl.concat([PRODUCTS, PRODUCTS.head(1)])
    ev = events(("C1", "TD", "purchase", day(1)))
    with pytest.raises(ValueError, match=r"product_id: duplicated \['TD'\]"):
        holdings_at(ev, products, None)


def test_naive_cutoff_raises() -> None:
    ev = events(("C1", "CC", "purchase", day(1)))
    with pytest.raises(ValueError, match="cutoff must be timezone-aware"):
        holdings_at(ev, PRODUCTS, datetime(2024, 1, 2))


def test_missing_event_column_raises() -> None:
    ev = events(("C1", "CC", "purchase", day(1))).drop(C.event)
    with pytest.raises(ValueError, match=r"events: missing column\(s\) \['event'\]"):
        holdings_at(ev, PRODUCTS, None)


def test_unsorted_holdings_hold_the_same_rows(tiny_bank_data):
    sorted_ = holdings_at(tiny_bank_data.events, tiny_bank_data.products, None)
    unsorted = holdings_at(tiny_bank_data.events, tiny_bank_data.products, None, sort=False)
    assert unsorted.sort(unsorted.columns).equals(sorted_)
    assert sorted_.height > 0


def test_moves_that_all_cancel_out_hold_nothing_new() -> None:
    # every cell's moves net to zero: the replay once raised IndexError on its empty reduce
    ev = events(("C1", "CC", "purchase", day(2)), ("C1", "CC", "close", day(2)))
    assert_frame_equal(holdings_at(ev, PRODUCTS, None), table())
