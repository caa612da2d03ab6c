"""IdMap: round trips, unknown ids, and the regressions fixed in it."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.data.idmap import IdMap


def test_from_values_is_sorted_unique_and_round_trips() -> None:
    m = IdMap.from_values(["P3", "P1", "P3", "P2"])
    assert m.ids.tolist() == ["P1", "P2", "P3"]
    assert len(m) == 3 and "P2" in m and "P9" not in m
    internal = m.to_internal(["P3", "P1", "P3"])
    assert internal.tolist() == [2, 0, 2]
    assert m.to_external(internal).tolist() == ["P3", "P1", "P3"]


def test_constructor_keeps_the_given_order() -> None:
    m = IdMap(np.array(["b", "a"]))
    assert m.to_internal(["a", "b"]).tolist() == [1, 0]


def test_from_polars_series() -> None:
    m = IdMap.from_values(pl.Series(["x", "y", "x"]))
    assert m.ids.tolist() == ["x", "y"]


def test_unknown_ids_strict_raises_and_lenient_gives_minus_one() -> None:
    m = IdMap.from_values(["a", "b"])
    with pytest.raises(KeyError, match=r"unknown ids: \['zz', 'yy'\]"):
        m.to_internal(["a", "zz", "yy"])
    assert m.to_internal(["a", "zz"], strict=False).tolist() == [0, -1]


def test_regression_unknown_ids_from_a_generator_are_named() -> None:
    # the generator used to be exhausted before the error listed the missing ids
    m = IdMap.from_values(["a"])
    with pytest.raises(KeyError, match=r"\['zz'\]"):
        m.to_internal(x for x in ["a", "zz"])


def test_to_internal_series_maps_unknown_and_null_to_null_keeping_name() -> None:
    m = IdMap.from_values(["a", "b", "c"])
    out = m.to_internal_series(pl.Series("product_id", ["c", "q", None, "a"]))
    assert out.name == "product_id"
    assert out.dtype == pl.Int32
    assert out.to_list() == [2, None, None, 0]


def test_regression_to_external_rejects_out_of_range_instead_of_wrapping() -> None:
    m = IdMap.from_values(["a", "b"])
    with pytest.raises(IndexError, match=r"out of range 0..1: \[-1, 2\]"):
        m.to_external(np.array([0, -1, 2]))


def test_regression_equality_and_hash_compare_ids() -> None:
    # the dataclass-generated __eq__ compared arrays and raised "truth value ... ambiguous"
    a = IdMap.from_values(["b", "a"])
    assert a == IdMap(np.array(["a", "b"]))
    assert a != IdMap(np.array(["b", "a"]))
    assert a != IdMap(np.array(["a"]))
    assert hash(a) == hash(IdMap(np.array(["a", "b"])))


def test_duplicates_and_nulls_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        IdMap(np.array(["a", "a"]))
    with pytest.raises(ValueError, match="null"):
        IdMap.from_values(pl.Series(["a", None]))


def test_empty_map() -> None:
    m = IdMap.from_values([])
    assert len(m) == 0
    assert m.to_external(np.array([], dtype=np.int64)).tolist() == []
    assert m.to_internal_series(pl.Series("c", ["a"], dtype=pl.String)).to_list() == [None]
