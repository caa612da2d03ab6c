"""Feature encoding: vocabularies, cohort bands, bins, unseen values, JSON round trip."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.models.features import FeatureEncoder, normalize_rows


@pytest.fixture
def frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            C.customer_id: ["a", "b", "c", "d"],
            C.birth_year: pl.Series([1961, 1969, 1985, None], dtype=pl.Int32),
            C.segment: ["mass", "affluent", "mass", None],
            C.risk_tolerance: pl.Series([1, 3, 3, 5], dtype=pl.Int8),
            "vip": [True, False, None, False],
            "balance": [10.0, 20.0, 30.0, 1000.0],
            C.joined_at: pl.Series([None] * 4, dtype=pl.Date),
        }
    )


def test_auto_columns_labels(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, None, skip=(C.customer_id,), band_width=10)
    labels = enc.labels()
    assert labels[:2] == ["born 1960-1969", "born 1980-1989"]
    assert "segment affluent" in labels and "risk_tolerance 5" in labels and "vip true" in labels
    assert any(lab.startswith("balance ") for lab in labels)
    assert not any(C.joined_at in lab or C.customer_id in lab for lab in labels)


def test_transform_one_hot_per_column(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, [C.birth_year, C.segment], skip=(), band_width=10)
    m = enc.transform(frame).toarray()
    labels = enc.labels()
    assert labels == ["born 1960-1969", "born 1980-1989", "segment affluent", "segment mass"]
    np.testing.assert_array_equal(m, [[1, 0, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]])


def test_unseen_values_and_nulls_give_no_feature(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, [C.segment, C.birth_year], skip=(), band_width=10)
    new = pl.DataFrame(
        {C.segment: ["private", None], C.birth_year: pl.Series([2001, 1965], dtype=pl.Int64)}
    )
    np.testing.assert_array_equal(enc.transform(new).toarray().sum(axis=1), [0, 1])


def test_missing_column_at_transform_names_it(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, [C.segment], skip=(), band_width=10)
    with pytest.raises(ValueError, match="segment"):
        enc.transform(frame.drop(C.segment))


def test_explicit_unsupported_column_is_an_error(frame: pl.DataFrame) -> None:
    with pytest.raises(ValueError, match="joined_at"):
        FeatureEncoder.fit(frame, [C.joined_at], skip=(), band_width=10)


def test_json_round_trip_same_matrix(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, None, skip=(C.customer_id,), band_width=5)
    back = FeatureEncoder.from_json(enc.to_json())
    assert back == enc
    assert (back.transform(frame) != enc.transform(frame)).nnz == 0


def test_normalize_rows_sum_to_one_or_zero(frame: pl.DataFrame) -> None:
    enc = FeatureEncoder.fit(frame, [C.birth_year, C.segment], skip=(), band_width=10)
    sums = np.asarray(normalize_rows(enc.transform(frame)).sum(axis=1)).ravel()
    np.testing.assert_allclose(sums, [1, 1, 1, 0])


def test_bins_of_a_batch_starting_with_null() -> None:
    # regression: tokens() built the bin strings from an object array [None, '1', ...], which
    # polars refuses ("cannot cast 'Object' type") when its first value is None
    fit = pl.DataFrame({"balance": [10.0, 20.0, 30.0, 1000.0]})
    enc = FeatureEncoder.fit(fit, ["balance"], skip=(), band_width=10)
    m = enc.transform(pl.DataFrame({"balance": [None, 20.0, float("nan"), 5.0]}))
    np.testing.assert_array_equal(m.toarray().sum(axis=1), [0, 1, 0, 1])
