"""Feature encoding: vocabularies, cohort bands, bins, unseen values, dates, one row as many."""

from __future__ import annotations

from datetime import date, time

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.models.features import FeatureEncoder, year_of
from recsys.models.lightfm_model import normalize_rows
from recsys.models.sequence import profile_frame


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


# --- one implementation for one row and many: every kind of column and value ------------
_RNG = np.random.default_rng(3)
_N = 40
FIT = pl.DataFrame(
    {
        C.customer_id: [f"c{i}" for i in range(_N)],
        C.birth_year: pl.Series([*_RNG.integers(1940, 2005, _N - 1), None], dtype=pl.Int32),
        C.segment: [*_RNG.choice(["mass", "affluent", "private"], _N - 1), None],
        C.risk_tolerance: pl.Series(_RNG.integers(1, 6, _N), dtype=pl.Int8),
        "vip": [None, *(_RNG.random(_N - 1) < 0.5)],
        "balance": [*_RNG.normal(1000, 500, _N - 1).round(2), None],  # floats: bins
        "visits": pl.Series(_RNG.integers(0, 6, _N) * 10, dtype=pl.Int64),  # few ints: category
        "score": pl.Series(_RNG.integers(0, 10**6, _N), dtype=pl.Int64),  # many ints: bins
        C.joined_at: pl.Series(
            [None, *(date(2000 + int(y), 3, 1) for y in _RNG.integers(0, 20, _N - 1))],
            dtype=pl.Date,
        ),
    }
)
ENCODER = FeatureEncoder.fit(profile_frame(FIT), None, skip=(C.customer_id,), band_width=10)
EDGES = [x for e in ENCODER.encodings for x in e.edges]  # values right on an edge


def rows_of(frame: pl.DataFrame) -> list[list[int]]:
    m = ENCODER.transform(frame, dates_as_years=True)
    return [m.indices[m.indptr[r] : m.indptr[r + 1]].tolist() for r in range(frame.height)]


def test_the_encoder_covers_every_kind() -> None:
    kinds = {e.column: e.kind for e in ENCODER.encodings}
    assert kinds[C.birth_year] == "band" and kinds["balance"] == "bins"
    assert kinds["score"] == "bins" and kinds[C.segment] == "category"
    assert kinds[C.joined_at] == "category"  # a date enters as its year


def test_fitted_rows_get_a_feature_of_each_known_value() -> None:
    rows = rows_of(FIT)
    assert all(len(r) > 0 for r in rows)
    labels = ENCODER.labels()
    first = FIT.row(1, named=True)
    names = {labels[i] for i in rows[1]}
    assert f"segment {first[C.segment]}" in names
    assert f"risk_tolerance {first[C.risk_tolerance]}" in names
    assert f"joined_at {first[C.joined_at].year}" in names


cells = st.fixed_dictionaries(
    {
        C.customer_id: st.just("x"),
        C.birth_year: st.one_of(st.none(), st.integers(1900, 2030)),
        C.segment: st.one_of(st.none(), st.sampled_from(["mass", "affluent", "private", "?"])),
        C.risk_tolerance: st.one_of(st.none(), st.integers(1, 5)),
        "vip": st.one_of(st.none(), st.booleans()),
        "balance": st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.sampled_from([*EDGES, -0.0, 0.0]),
        ),
        "visits": st.one_of(st.none(), st.integers(-5, 80)),
        "score": st.one_of(
            st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from(EDGES).map(int)
        ),
        C.joined_at: st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 1, 1))),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(cells, min_size=1, max_size=6))
def test_a_batch_encodes_each_row_as_alone_and_as_its_tokens_say(data: list[dict]) -> None:
    frame = pl.DataFrame(data, schema=FIT.schema)
    rows = rows_of(frame)
    assert rows == [rows_of(frame.slice(r, 1))[0] for r in range(frame.height)]
    years = profile_frame(frame)
    offsets = np.cumsum([0, *(len(e.values) for e in ENCODER.encodings)]).tolist()
    for j, (enc, offset) in enumerate(zip(ENCODER.encodings, offsets, strict=False)):
        tokens = enc.tokens(years[enc.column]).to_list()
        for r, token in enumerate(tokens):  # the fitted vocabulary's position, or nothing
            want = [offset + enc.values.index(token)] if token in enc.values else []
            assert [i for i in rows[r] if offset <= i < offset + len(enc.values)] == want, j


def test_other_dtypes_of_a_column_encode_alike() -> None:
    # other integer widths, categorical text and datetimes encode as the fitted dtypes do
    variants = [
        FIT.with_columns(pl.col(C.risk_tolerance).cast(pl.Int64), pl.col("vip")),
        FIT.with_columns(pl.col(C.segment).cast(pl.Categorical)),
        FIT.with_columns(pl.col(C.joined_at).cast(pl.Datetime("ms"))),
        FIT.with_columns(pl.col(C.risk_tolerance).cast(pl.String)),
    ]
    for frame in variants:
        assert rows_of(frame) == rows_of(FIT)
    as_ints = FIT.with_columns(pl.col("vip").cast(pl.Int8))  # a bool is not the number 1
    assert rows_of(as_ints) != rows_of(FIT)


def test_dates_as_years_equal_profile_frame() -> None:
    np.testing.assert_array_equal(
        ENCODER.transform(FIT, dates_as_years=True).toarray(),
        ENCODER.transform(profile_frame(FIT)).toarray(),
    )
    clock = FIT.with_columns(pl.lit(time(9, 30), pl.Time).alias(C.joined_at))
    with pytest.raises(pl.exceptions.PolarsError):
        ENCODER.transform(clock, dates_as_years=True)  # a time has no year


def test_datetimes_enter_as_their_year_in_their_time_zone() -> None:
    # half an hour into a new year in UTC is still the old year in New York
    years = FIT[C.joined_at].dt.year()
    new_year = pl.datetime(years, 1, 1, 0, 30, time_zone="UTC")
    found = []
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        frame = FIT.with_columns(new_year.dt.convert_time_zone(zone).alias(C.joined_at))
        found.append(rows_of(frame))
        local = frame.with_columns(pl.col(C.joined_at).dt.year().cast(pl.Int32))
        assert found[-1] == rows_of(local)
    assert found[0] == found[1] != found[2]


def test_year_of_keeps_nulls_and_years_before_1970() -> None:
    s = pl.Series("d", [date(1901, 12, 31), None, date(2019, 1, 1)], dtype=pl.Date)
    assert year_of(s).to_list() == [1901, None, 2019] and year_of(s).dtype == pl.Int32


def test_no_columns_no_features() -> None:
    m = FeatureEncoder(()).transform(FIT)
    assert m.shape == (FIT.height, 0) and m.nnz == 0


def test_birth_years_of_other_dtypes_fall_in_the_band_their_integer_part_gives() -> None:
    enc = FeatureEncoder.fit(FIT, [C.birth_year], skip=(), band_width=10)
    labels = enc.labels()

    def band(values: pl.Series) -> list[str | None]:
        m = enc.transform(pl.DataFrame({C.birth_year: values}))
        return [
            labels[m.indices[i]] if m.indptr[i + 1] > m.indptr[i] else None
            for i in range(m.shape[0])
        ]

    assert band(pl.Series([1985.7, 1949.99, None])) == ["born 1980-1989", "born 1940-1949", None]
    assert band(pl.Series(["1985", None])) == ["born 1980-1989", None]
    assert band(pl.Series([1985, 10**12, None], dtype=pl.Int64)) == ["born 1980-1989", None, None]
