"""The generated catalog: size, categories, risk ratings, limits, channels, flags, windows."""

from __future__ import annotations

import polars as pl

from recsys.columns import CATEGORIES
from recsys.columns import Columns as C
from recsys.data.generate import DEFAULT_START, build_catalog, products_frame
from recsys.data.generate.timeline import Timeline, date_to_us
from recsys.data.schema import PRODUCTS


def _products() -> pl.DataFrame:
    return products_frame()


def _row(product_id: str) -> dict:
    return _products().filter(pl.col(C.product_id) == product_id).row(0, named=True)


def test_thirty_to_fifty_unique_products_over_every_category() -> None:
    products = _products()
    assert 30 <= products.height <= 50
    assert products[C.product_id].is_unique().all()
    assert set(products[C.category]) == set(CATEGORIES)
    assert products.schema == pl.Schema({c.name: c.dtype for c in PRODUCTS.columns})


def test_investments_spread_over_all_risk_ratings_and_deposits_are_r1() -> None:
    products = _products()
    investing = products.filter(
        pl.col(C.category).is_in(["wealth_management", "mutual_fund", "precious_metals", "fx"])
    )
    assert set(investing[C.risk_rating]) == {1, 2, 3, 4, 5}
    safe = products.filter(
        pl.col(C.category).is_in(["current_account", "savings_account", "term_deposit"])
    )
    assert set(safe[C.risk_rating]) == {1}


def test_age_limits_channels_and_repeatable_flags() -> None:
    assert _row("CA_JUNIOR")[C.max_age] == 17
    assert _row("MG_FIXED")[C.min_age] == 21
    for mortgage in ("MG_FIXED", "MG_VARIABLE"):
        assert "atm" not in _row(mortgage)[C.channels] and _row(mortgage)[C.channels]
    repeatable = set(_products().filter(pl.col(C.repeatable))[C.product_id])
    assert {"TD_3M", "TD_12M", "FX_CASH"} <= repeatable
    assert "CC_CLASSIC" not in repeatable


def test_campaign_products_are_on_sale_for_part_of_the_default_history() -> None:
    timeline = Timeline(DEFAULT_START, 24)
    windowed = _products().filter(
        pl.col(C.active_from).is_not_null() | pl.col(C.active_to).is_not_null()
    )
    assert windowed.height >= 1
    for row in windowed.iter_rows(named=True):
        start = date_to_us(row[C.active_from]) if row[C.active_from] else timeline.start_us
        assert timeline.start_us < start < timeline.end_us


def test_catalog_arrays_follow_the_frame() -> None:
    catalog, products = build_catalog(), _products()
    assert catalog.ids.tolist() == products[C.product_id].to_list()
    assert catalog.risk.tolist() == products[C.risk_rating].to_list()
    atm = catalog.channel_mask[:, 4]
    assert not atm[catalog.index("MG_FIXED")] and atm[catalog.index("CA_SALARY")]
    spring = catalog.index("TD_SPRING")
    assert catalog.active_until_us[spring] - catalog.active_from_us[spring] == 92 * 86_400_000_000
