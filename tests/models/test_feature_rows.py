"""RowFeatures: one row's features equal FeatureEncoder.transform's, whatever the values."""

from __future__ import annotations

from datetime import date, time

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.models import feature_rows
from recsys.models.feature_rows import RowFeatures
from recsys.models.features import FeatureEncoder
from recsys.models.sequence import profile_frame

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
SCHEMA = FIT.schema
ENCODER = FeatureEncoder.fit(profile_frame(FIT), None, skip=(C.customer_id,), band_width=10)
ENCODER_EDGES = [x for e in ENCODER.encodings for x in e.edges]  # values right on an edge


def expected(frame: pl.DataFrame) -> list[list[int]]:
    m = ENCODER.transform(profile_frame(frame))
    return [m.indices[m.indptr[r] : m.indptr[r + 1]].tolist() for r in range(frame.height)]


def rows_of(frame: pl.DataFrame, rows: RowFeatures) -> list[list[int]]:
    return [rows.indices(frame, r).tolist() for r in range(frame.height)]


def test_the_encoder_covers_every_kind() -> None:
    kinds = {e.column: e.kind for e in ENCODER.encodings}
    assert kinds[C.birth_year] == "band" and kinds["balance"] == "bins"
    assert kinds["score"] == "bins" and kinds[C.segment] == "category"
    assert kinds[C.joined_at] == "category"  # a date enters as its year


def test_fitted_rows_and_repeats_equal_transform() -> None:
    rows = RowFeatures(ENCODER, dates_as_years=True)
    twice = pl.concat([FIT, FIT])  # the second pass answers from the caches
    assert rows_of(twice, rows) == expected(twice)
    assert all(len(r) > 0 for r in rows_of(FIT, rows))


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
            st.sampled_from([*ENCODER_EDGES, -0.0, 0.0]),
        ),
        "visits": st.one_of(st.none(), st.integers(-5, 80)),
        "score": st.one_of(
            st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from(ENCODER_EDGES).map(int)
        ),
        C.joined_at: st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2030, 1, 1))),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(cells, min_size=1, max_size=6))
def test_any_values_equal_transform(data: list[dict]) -> None:
    frame = pl.DataFrame(data, schema=SCHEMA)
    rows = RowFeatures(ENCODER, dates_as_years=True)
    assert rows_of(frame, rows) == expected(frame)
    assert rows_of(frame, rows) == expected(frame)  # cached answers too


def test_one_cache_serves_columns_of_other_dtypes() -> None:
    # risk_tolerance 3 as a string is not the integer 3, a bool is not 1; other integer
    # widths and categorical text encode alike
    rows = RowFeatures(ENCODER, dates_as_years=True)
    variants = [
        FIT,
        FIT.with_columns(pl.col(C.risk_tolerance).cast(pl.String)),
        FIT.with_columns(pl.col(C.risk_tolerance).cast(pl.Int64), pl.col("vip").cast(pl.Int8)),
        FIT.with_columns(
            pl.col(C.segment).cast(pl.Categorical), pl.col("balance").cast(pl.Float32)
        ),
        FIT.with_columns(pl.col(C.joined_at).cast(pl.Datetime("ms"))),
    ]
    for frame in [*variants, *variants]:
        assert rows_of(frame, rows) == expected(frame)


def test_what_only_the_frame_path_answers_gives_none() -> None:
    rows = RowFeatures(ENCODER, dates_as_years=True)
    assert rows.indices(FIT.drop(C.segment)) is None  # transform names the missing column
    clock = FIT.with_columns(pl.lit(time(9, 30), pl.Time).alias(C.joined_at))
    assert rows.indices(clock) is None  # a time has no year


def test_datetimes_enter_as_their_year_in_their_time_zone() -> None:
    # half an hour into a new year in UTC is still the old year in New York
    years = FIT[C.joined_at].dt.year()
    new_year = pl.datetime(years, 1, 1, 0, 30, time_zone="UTC")
    found = []
    for zone in ("UTC", "Asia/Shanghai", "America/New_York"):
        frame = FIT.with_columns(new_year.dt.convert_time_zone(zone).alias(C.joined_at))
        rows = RowFeatures(ENCODER, dates_as_years=True)
        found.append(rows_of(frame, rows))
        assert found[-1] == expected(frame)
    assert found[0] == found[1] != found[2]


def test_a_full_cache_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feature_rows, "MAX_CACHED_VALUES", 2)
    rows = RowFeatures(ENCODER, dates_as_years=True)
    assert rows_of(FIT, rows) == expected(FIT)
    assert all(len(c) <= 2 for c in rows._cache)


def test_no_columns_no_features() -> None:
    got = RowFeatures(FeatureEncoder(())).indices(FIT)
    assert got is not None and got.dtype == np.int64 and got.size == 0
