"""Channel: sold in the channel, category not excluded there."""

from __future__ import annotations

import pytest

from recsys.columns import Columns as C
from recsys.rules.channel import category_allowed, sold_in_channel
from tests.rules.conftest import catalog_of


def _catalog():
    return catalog_of(
        [
            {C.product_id: "A", C.channels: ["branch"], C.category: "mortgage"},
            {C.product_id: "B", C.category: "fx"},
            {C.product_id: "C", C.channels: ["atm", "mobile"], C.category: "savings_account"},
        ]
    )


def test_sold_in_channel():
    catalog = _catalog()
    assert sold_in_channel(catalog, "atm").tolist() == [False, True, True]
    assert sold_in_channel(catalog, "branch").tolist() == [True, True, False]
    assert sold_in_channel(catalog, None).tolist() == [True, True, True]


def test_unknown_channel_raises():
    with pytest.raises(ValueError, match="unknown channel 'kiosk'"):
        sold_in_channel(_catalog(), "kiosk")


def test_excluded_categories():
    catalog = _catalog()
    assert category_allowed(catalog, ["mortgage", "fx"]).tolist() == [False, False, True]
    assert category_allowed(catalog, ()).tolist() == [True, True, True]
    assert category_allowed(catalog, {"pension"}).tolist() == [True, True, True]


def test_a_bare_string_is_not_a_set_of_categories():
    with pytest.raises(TypeError, match="not a str"):
        category_allowed(_catalog(), "fx")
