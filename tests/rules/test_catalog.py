"""Catalog.from_frame: alignment to the IdMap, defaults for optional columns, clear errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from recsys.columns import DEFAULT_CHANNELS
from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.rules import Catalog
from recsys.rules.catalog import NO_MAX_AGE, NO_MIN_AGE
from tests.rules.conftest import products_frame


def _three() -> pl.DataFrame:
    return products_frame(
        [
            {C.product_id: "C", C.risk_rating: 3, C.min_age: 18, C.channels: ["atm", "web"]},
            {C.product_id: "A", C.risk_rating: 1, C.max_age: 25, C.channels: []},
            {
                C.product_id: "B",
                C.risk_rating: 5,
                C.category: "mortgage",
                C.repeatable: True,
                C.active_from: date(2024, 1, 1),
                C.active_to: date(2024, 12, 31),
            },
        ]
    )


def test_arrays_follow_the_id_map_not_the_frame_order():
    frame = _three()
    cat = Catalog.from_frame(frame, IdMap(np.array(["B", "C", "A"])), DEFAULT_CHANNELS)
    assert cat.risk_rating.tolist() == [5, 3, 1]
    assert cat.min_age.tolist() == [NO_MIN_AGE, 18, NO_MIN_AGE]
    assert cat.max_age.tolist() == [NO_MAX_AGE, NO_MAX_AGE, 25]
    assert cat.repeatable.tolist() == [True, False, False]
    assert cat.category.tolist() == ["mortgage", "savings_account", "savings_account"]
    assert cat.active_from[0] == np.datetime64("2024-01-01")
    assert np.isnat(cat.active_from[1:]).all() and np.isnat(cat.active_to[1:]).all()


def test_channel_matrix_null_or_empty_list_means_every_channel():
    cat = Catalog.from_frame(_three(), IdMap(np.array(["A", "B", "C"])), ("mobile", "web", "atm"))
    assert cat.sold_in.tolist() == [
        [True, True, True],  # A: empty list
        [True, True, True],  # B: null
        [False, True, True],  # C: atm, web
    ]


def test_missing_optional_columns_mean_no_restriction():
    frame = pl.DataFrame(
        {C.product_id: ["X"], C.name: ["x"], C.category: ["fx"], C.risk_rating: [2]},
        schema_overrides={C.risk_rating: pl.Int8},
    )
    cat = Catalog.from_frame(frame, IdMap(np.array(["X"])), ("mobile", "atm"))
    assert cat.min_age.tolist() == [NO_MIN_AGE] and cat.max_age.tolist() == [NO_MAX_AGE]
    assert cat.repeatable.tolist() == [False]
    assert cat.sold_in.tolist() == [[True, True]]
    assert np.isnat(cat.active_from).all() and np.isnat(cat.active_to).all()


def test_unknown_channel_is_named():
    frame = products_frame([{C.product_id: "A", C.channels: ["mobile", "kiosk"]}])
    with pytest.raises(ValueError, match=r"column channels: unknown channel.*'kiosk'.*\['A'\]"):
        Catalog.from_frame(frame, IdMap(np.array(["A"])), DEFAULT_CHANNELS)


def test_channel_index_of_unknown_channel_lists_the_known_ones():
    channels = ("mobile", "web", "atm")
    cat = Catalog.from_frame(_three(), IdMap(np.array(["A", "B", "C"])), channels)
    assert cat.channel_index("atm") == 2
    with pytest.raises(ValueError, match=r"unknown channel 'fax'.*\['mobile', 'web', 'atm'\]"):
        cat.channel_index("fax")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["A", "B"], r"ids not in the product map: \['C'\]"),
        (["A", "B", "C", "D"], r"missing from products: \['D'\]"),
    ],
)
def test_frame_and_map_must_hold_the_same_products(ids, message):
    with pytest.raises(ValueError, match=message):
        Catalog.from_frame(_three(), IdMap(np.array(ids)), DEFAULT_CHANNELS)


def test_duplicate_product_ids_are_named():
    frame = pl.concat([_three(), _three().head(1)])
    with pytest.raises(ValueError, match=r"column product_id: duplicate ids \['C'\]"):
        Catalog.from_frame(frame, IdMap(np.array(["A", "B", "C"])), DEFAULT_CHANNELS)


def test_null_risk_rating_is_named_with_the_product():
    frame = _three().with_columns(
        pl.when(pl.col(C.product_id) == "B")
        .then(None)
        .otherwise(pl.col(C.risk_rating))
        .alias(C.risk_rating)
    )
    with pytest.raises(ValueError, match=r"column risk_rating: null for products \['B'\]"):
        Catalog.from_frame(frame, IdMap(np.array(["A", "B", "C"])), DEFAULT_CHANNELS)
