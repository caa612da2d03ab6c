"""Builders and hypothesis strategies for small product catalogs and customer batches."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
from hypothesis import strategies as st

from recsys.columns import DEFAULT_CHANNELS
from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.rules import Catalog, CustomerBatch

CATEGORIES = ("savings_account", "mutual_fund", "mortgage", "insurance")


def products_frame(rows: list[dict]) -> pl.DataFrame:
    """A canonical products frame from dicts (optional columns filled with None)."""
    defaults = {
        C.name: "n",
        C.category: "savings_account",
        C.risk_rating: 1,
        C.min_age: None,
        C.max_age: None,
        C.channels: None,
        C.repeatable: False,
        C.active_from: None,
        C.active_to: None,
    }
    schema = {
        C.product_id: pl.String,
        C.name: pl.String,
        C.category: pl.String,
        C.risk_rating: pl.Int8,
        C.min_age: pl.Int16,
        C.max_age: pl.Int16,
        C.channels: pl.List(pl.String),
        C.repeatable: pl.Boolean,
        C.active_from: pl.Date,
        C.active_to: pl.Date,
    }
    return pl.DataFrame([defaults | r for r in rows], schema=schema)


def catalog_of(rows: list[dict]) -> Catalog:
    """A Catalog over the given product rows, ids in sorted order."""
    frame = products_frame(rows)
    return Catalog.from_frame(frame, IdMap.from_values(frame[C.product_id]), DEFAULT_CHANNELS)


def customers_of(*, birth_year, risk_tolerance, marketing_consent=None, segment=None):
    """A CustomerBatch with consent True and segment 'mass' unless given."""
    b = len(birth_year)
    return CustomerBatch.from_arrays(
        birth_year=birth_year,
        risk_tolerance=risk_tolerance,
        marketing_consent=[True] * b if marketing_consent is None else marketing_consent,
        segment=["mass"] * b if segment is None else segment,
    )


_dates = st.none() | st.dates(date(2015, 1, 1), date(2030, 12, 31))


@st.composite
def product_rows(draw, n: int) -> list[dict]:
    """n random product rows with every optional field sometimes missing."""
    rows = []
    for i in range(n):
        rows.append(
            {
                C.product_id: f"P{i:02d}",
                C.category: draw(st.sampled_from(CATEGORIES)),
                C.risk_rating: draw(st.integers(1, 5)),
                C.min_age: draw(st.none() | st.integers(0, 70)),
                C.max_age: draw(st.none() | st.integers(10, 100)),
                C.channels: draw(st.none() | st.lists(st.sampled_from(DEFAULT_CHANNELS))),
                C.repeatable: draw(st.booleans()),
                C.active_from: draw(_dates),
                C.active_to: draw(_dates),
            }
        )
    return rows


@st.composite
def rule_inputs(draw) -> dict:
    """A random catalog, customer batch, holdings matrix, date, channel and exclusions."""
    n = draw(st.integers(1, 10))
    b = draw(st.integers(1, 8))
    catalog = catalog_of(draw(product_rows(n)))
    ints = st.lists
    customers = customers_of(
        birth_year=draw(ints(st.integers(1920, 2020), min_size=b, max_size=b)),
        risk_tolerance=draw(ints(st.integers(1, 5), min_size=b, max_size=b)),
        marketing_consent=draw(ints(st.booleans(), min_size=b, max_size=b)),
    )
    seed = draw(st.integers(0, 2**32 - 1))
    held = np.random.default_rng(seed).integers(0, 3, size=(b, n)) * (
        np.random.default_rng(seed + 1).random((b, n)) < 0.4
    )
    return {
        "catalog": catalog,
        "customers": customers,
        "held": held,
        "at": draw(st.dates(date(2014, 1, 1), date(2031, 12, 31))),
        "channel": draw(st.none() | st.sampled_from(DEFAULT_CHANNELS)),
        "excluded_categories": tuple(draw(st.lists(st.sampled_from(CATEGORIES), max_size=2))),
        "exclude_products": draw(st.none() | st.lists(st.integers(0, n - 1), max_size=n)),
        "for_offers": draw(st.booleans()),
    }
