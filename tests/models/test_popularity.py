"""Popularity: the contract, with global and per-segment known answers."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.models import TrainData
from recsys.models.popularity import PopularityRecommender
from recsys.models.reason import ReasonCode

from .contract import RecommenderContract, first_allowed
from .planted import CC, N_PRODUCTS, SENIOR, YOUNG, F, history, planted, profiles


class TestPopularity(RecommenderContract):
    uses_history = False
    explains_co_held = False

    def make_model(self) -> PopularityRecommender:
        return PopularityRecommender(shrinkage=5.0)

    def test_known_answer(self, model: PopularityRecommender) -> None:
        empty = history((), (), ())
        # C is held by the most customers overall, F by every senior customer
        segments = profiles([YOUNG, SENIOR, "unknown"])
        assert first_allowed(model, empty, segments).tolist() == [CC, F, CC]
        assert first_allowed(model, history(()), None).tolist() == [CC]

    def test_segment_rates_shrink_towards_global(self, model: PopularityRecommender) -> None:
        seniors = model.score(history(()), None, profiles([SENIOR]))[0]
        assert model.global_rate[F] < seniors[F] < 1.0

    def test_explain_names_the_segment(self, model: PopularityRecommender) -> None:
        (reason,) = model.explain(history(()), F, features=profiles([SENIOR]))
        assert reason.code == ReasonCode.popular_segment and SENIOR in reason.text
        (reason,) = model.explain(history(()), F)
        assert reason.code == ReasonCode.popular


def test_global_only_ignores_segments() -> None:
    model = PopularityRecommender(by_segment=False).fit(planted().train)
    scores = model.score(history((), ()), None, profiles([YOUNG, SENIOR]))
    np.testing.assert_array_equal(scores[0], scores[1])


def test_by_segment_without_profiles_is_a_clear_error() -> None:
    data = planted().train
    with pytest.raises(ValueError, match="segment"):
        PopularityRecommender().fit(TrainData(data.interactions))


@pytest.fixture(scope="module")
def popularity() -> PopularityRecommender:
    return PopularityRecommender().fit(planted().train)


@settings(max_examples=60, deadline=None)
@given(
    segments=st.lists(
        st.one_of(st.none(), st.sampled_from([YOUNG, SENIOR, "Young", "", "other"])),
        min_size=1,
        max_size=5,
    )
)
def test_each_row_gets_its_segments_rates(popularity, segments) -> None:
    frame = pl.DataFrame({C.segment: segments}, schema={C.segment: pl.String})
    h = sp.csr_matrix((len(segments), N_PRODUCTS), dtype=np.float32)
    got = popularity.score(h, None, frame)
    known = {s: i for i, s in enumerate(popularity.segments)}
    for row, segment in zip(got, segments, strict=True):
        rate = popularity.segment_rate[known[segment]] if segment in known else None
        expected = rate if rate is not None else popularity.global_rate
        np.testing.assert_array_equal(row, expected.astype(np.float32))
        one = popularity.score(h[:1], None, pl.DataFrame({C.segment: [segment]}))
        np.testing.assert_array_equal(one[0], row)
    categorical = frame.with_columns(pl.col(C.segment).cast(pl.Categorical))
    np.testing.assert_array_equal(got, popularity.score(h, None, categorical))


def test_explain_products_names_the_segment_for_each_product(popularity) -> None:
    empty = history(())
    for segment in [*popularity.segments, "a segment nobody is in", None]:
        feats = pl.DataFrame({C.segment: [segment]}, schema={C.segment: pl.String})
        got = popularity.explain_products(empty, [F, CC], 2, features=feats)
        assert got == [popularity.explain(empty, p, 2, features=feats) for p in (F, CC)]
        code = ReasonCode.popular_segment if segment in popularity.segments else ReasonCode.popular
        assert [r.code for (r,) in got] == [code, code]
