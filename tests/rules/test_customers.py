"""CustomerBatch: rows in the order asked for, canonical dtypes, clear errors."""

from __future__ import annotations

import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.rules import CustomerBatch


def _customers() -> pl.DataFrame:
    return pl.DataFrame(
        {
            C.customer_id: ["u1", "u2", "u3"],
            C.birth_year: [1980, 1990, 2000],
            C.segment: ["mass", "affluent", "young"],
            C.risk_tolerance: [1, 4, 2],
            C.marketing_consent: [True, False, True],
        },
        schema_overrides={C.birth_year: pl.Int32, C.risk_tolerance: pl.Int8},
    )


def test_rows_follow_the_requested_ids():
    batch = CustomerBatch.from_frame(_customers(), ["u3", "u1", "u3"])
    assert batch.birth_year.tolist() == [2000, 1980, 2000]
    assert batch.risk_tolerance.tolist() == [2, 1, 2]
    assert batch.marketing_consent.tolist() == [True, True, True]
    assert batch.segment.tolist() == ["young", "mass", "young"]
    assert batch.risk_tolerance.dtype.name == "int8" and len(batch) == 3


def test_whole_frame_in_frame_order():
    batch = CustomerBatch.from_frame(_customers())
    assert batch.marketing_consent.tolist() == [True, False, True]


def test_unknown_customer_is_named():
    with pytest.raises(ValueError, match=r"unknown customer ids \['zz'\]"):
        CustomerBatch.from_frame(_customers(), ["u1", "zz"])


def test_null_risk_tolerance_is_named():
    frame = _customers().with_columns(
        pl.when(pl.col(C.customer_id) == "u2")
        .then(None)
        .otherwise(pl.col(C.risk_tolerance))
        .alias(C.risk_tolerance)
    )
    with pytest.raises(ValueError, match=r"column risk_tolerance: null for customers \['u2'\]"):
        CustomerBatch.from_frame(frame)


def test_arrays_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        CustomerBatch.from_arrays(
            birth_year=[1990, 1991], risk_tolerance=[1], marketing_consent=[True], segment=["a"]
        )
