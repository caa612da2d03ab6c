"""Sequence (next-product logit): the contract, order-aware answers, examples, interest blend."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions
from recsys.models import TrainData, sequence
from recsys.models._next_logit import training_examples
from recsys.models.reason import ReasonCode
from recsys.models.sequence import SequenceRecommender, profile_frame

from .contract import RecommenderContract, first_allowed
from .planted import (
    CC,
    GROUP1,
    GROUP2,
    N_PRODUCTS,
    SENIOR,
    YOUNG,
    A,
    B,
    D,
    E,
    F,
    history,
    planted,
    profiles,
)


class TestSequence(RecommenderContract):
    def make_model(self) -> SequenceRecommender:
        return SequenceRecommender(max_iter=50)

    def test_known_answer(self, model: SequenceRecommender) -> None:
        top = first_allowed(model, history((A, B), (D, E)), profiles([YOUNG, SENIOR]))
        assert top.tolist() == [CC, F]

    def test_cold_start_by_profile(self, model: SequenceRecommender) -> None:
        top = first_allowed(model, history((), ()), profiles([YOUNG, SENIOR]))
        assert top[0] in GROUP1 and top[1] in GROUP2

    def test_score_needs_profiles(self, model: SequenceRecommender) -> None:
        with pytest.raises(ValueError, match="features"):
            model.score(history((A,)))


# --- order: a planted sequence -------------------------------------------------------------
# 30 customers took product 0 and later 1; 20 took 1 and later 2. Product 1 is held with 0
# more often than with 2, but after 1 comes 2: only a model that sees the order says so.
N_SEQ = 4
OLD, NEW = 0.5, 1.0  # history weights as recency decay leaves them: older = smaller


def _sequences() -> TrainData:
    pairs = [(0, 1)] * 30 + [(1, 2)] * 20
    dense = np.zeros((len(pairs) + 10, N_SEQ), dtype=np.float32)
    for row, (first, then) in enumerate(pairs):
        dense[row, first], dense[row, then] = OLD, NEW
    dense[len(pairs) :, 3] = NEW  # a few customers of product 3 alone
    ids = np.array([f"s{i:02d}" for i in range(dense.shape[0])])
    inter = Interactions(
        sp.csr_matrix(dense), IdMap(ids), IdMap(np.array([f"p{i}" for i in range(N_SEQ)]))
    )
    return TrainData(inter, customer_features=profiles(["mass"] * len(ids), list(ids)))


def _top_after_product_1(model: SequenceRecommender) -> int:
    h = sp.csr_matrix(np.array([[0, NEW, 0, 0]], dtype=np.float32))
    return int(first_allowed(model, h, profiles(["mass"]))[0])


def test_order_decides_what_comes_next() -> None:
    data = _sequences()
    ordered = SequenceRecommender(profile_columns=[]).fit(data)
    unordered = SequenceRecommender(profile_columns=[], recent_ratio=None).fit(data)
    assert _top_after_product_1(ordered) == 2
    assert _top_after_product_1(unordered) == 0


def test_explain_cites_the_newest_product_when_the_order_is_known() -> None:
    model = SequenceRecommender(profile_columns=[]).fit(_sequences())
    h = sp.csr_matrix(np.array([[OLD, NEW, 0, 0]], dtype=np.float32))
    reasons = model.explain(h, 2, k_reasons=3)
    assert reasons[0].code == ReasonCode.co_held and reasons[0].related_products == (1,)
    # the newest cell may be a view: whether it was "just taken" is the claims' to say


def test_explain_cites_only_citable_products() -> None:
    model = SequenceRecommender(profile_columns=[]).fit(_sequences())
    h = sp.csr_matrix(np.array([[OLD, NEW, 0, 0]], dtype=np.float32))
    only_0 = np.array([True, False, False, False])
    reasons = model.explain(h, 2, k_reasons=3, citable=only_0)
    assert [r.related_products for r in reasons if r.related_products] in ([(0,)], [])
    assert all(r.related_products != (1,) for r in reasons)


def test_examples_fill_in_and_what_came_next() -> None:
    # one customer: product 0 older (0.5), products 1 and 2 newest (1.0), product 3 absent
    m = sp.csr_matrix(np.array([[OLD, NEW, NEW, 0.0]], dtype=np.float32))
    ex = training_examples(m, 0.99, fill_weight=0.1, next_weight=1.0, max_examples=10, seed=0)
    got = []
    for s in range(len(ex.targets)):
        entries = ex.contexts.row == s
        context = ex.contexts.item[entries].tolist()
        newest = ex.contexts.item[entries & ex.contexts.last].tolist()
        got.append((int(ex.targets[s]), ex.weights[s], context, newest))
        assert ex.excluded[s].tolist() == [p in context for p in range(N_SEQ)]
    assert got == [
        (0, 0.1, [1, 2], [1, 2]),  # fill-in: the rest of the row, 1 and 2 newest
        (1, 0.1, [0, 2], [2]),
        (2, 0.1, [0, 1], [1]),
        (1, 1.0, [0], [0]),  # what came next: only what is older; 0 is the newest before 1
        (2, 1.0, [0], [0]),  # (product 0 has nothing older: no next example)
    ]


def test_examples_without_order_are_fill_in_only() -> None:
    m = sp.csr_matrix(np.array([[OLD, NEW, 0.0, 0.0]], dtype=np.float32))
    ex = training_examples(m, None, fill_weight=1.0, next_weight=1.0, max_examples=10, seed=0)
    assert ex.targets.tolist() == [0, 1] and not ex.contexts.last.any()
    with pytest.raises(ValueError, match="no training examples"):
        training_examples(m, None, fill_weight=0.0, next_weight=1.0, max_examples=10, seed=0)


def test_max_examples_samples_target_cells() -> None:
    m = planted().train.interactions.matrix
    ex = training_examples(m, None, fill_weight=1.0, next_weight=1.0, max_examples=7, seed=0)
    assert len(ex.targets) == 7


def test_interest_weight_adds_the_own_history_weight() -> None:
    data = planted()
    plain = SequenceRecommender(max_iter=20, interest_weight=0.0).fit(data.train)
    blended = SequenceRecommender(max_iter=20, interest_weight=10.0).fit(data.train)
    h = sp.csr_matrix(np.array([[1, 0, 0, 0.05, 0, 0, 0, 0]], dtype=np.float32))  # viewed D
    diff = blended.score(h, None, profiles([YOUNG])) - plain.score(h, None, profiles([YOUNG]))
    np.testing.assert_allclose(diff, 10.0 * h.toarray(), atol=1e-5)


def test_without_profile_columns_no_features_are_needed() -> None:
    model = SequenceRecommender(profile_columns=[], max_iter=20).fit(planted().train)
    assert first_allowed(model, history((D, E))).tolist() == [F]


def test_dates_become_years() -> None:
    frame = pl.DataFrame({C.customer_id: ["a"], C.joined_at: [date(2019, 5, 1)]})
    assert profile_frame(frame)[C.joined_at].to_list() == [2019]


def test_near_unique_text_columns_are_not_profile_features(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = planted()
    feats = data.train.customer_features
    with_email = feats.with_columns(pl.Series("email", [f"c{i}@x" for i in range(feats.height)]))
    train = TrainData(data.train.interactions, with_email, data.train.product_features)
    monkeypatch.setattr(sequence, "MAX_PROFILE_VALUES", 10)  # 80 customers, 2 segments
    columns = {e.column for e in SequenceRecommender(max_iter=5).fit(train).encoder.encodings}
    assert "email" not in columns and C.segment in columns


# --- one row as in a batch, reasons as explain gives them, for each way of configuring -----
VARIANTS = {
    "default": {},
    "no order, no profile": {"recent_ratio": None, "profile_columns": []},
    "no interest": {"interest_weight": 0.0, "recent_ratio": 0.5},
}
WEIGHTS = [0.0, -1.0, 1e-3, 0.05, 0.5, 0.99, 1.0, 2.0]


@pytest.fixture(scope="module", params=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> SequenceRecommender:
    return SequenceRecommender(max_iter=30, **VARIANTS[request.param]).fit(planted().train)


def one_row(cells: list[tuple[int, float]]) -> sp.csr_matrix:
    """A 1-row CSR with the cells as given: unsorted columns stay so."""
    cols = np.array([c for c, _ in cells], dtype=np.int32)
    data = np.array([w for _, w in cells], dtype=np.float32)
    return sp.csr_matrix((data, cols, np.array([0, len(cells)])), shape=(1, N_PRODUCTS))


histories = st.lists(
    st.tuples(st.integers(0, N_PRODUCTS - 1), st.sampled_from(WEIGHTS)),
    max_size=N_PRODUCTS,
    unique_by=lambda cell: cell[0],
)
segments = st.sampled_from([YOUNG, SENIOR, "a segment nobody is in"])


@settings(max_examples=60, deadline=None)
@given(cells=histories, other=histories, segment=segments)
def test_a_row_scores_alike_alone_and_in_a_batch(
    variant: SequenceRecommender, cells: list[tuple[int, float]], other, segment: str
) -> None:
    h, f = one_row(cells), profiles([segment])
    got = variant.score(h, None, f)
    batch = sp.vstack([one_row(other), h], format="csr")
    np.testing.assert_array_equal(got, variant.score(batch, None, profiles([YOUNG, segment]))[1:])
    assert got.dtype == np.float32 and got.shape == (1, N_PRODUCTS)
    products = list(range(N_PRODUCTS))
    expected = [variant.explain(h, p, 2, features=f) for p in products]
    assert variant.explain_products(h, products, 2, features=f) == expected


def test_reasons_are_the_strongest_positive_shares(variant: SequenceRecommender) -> None:
    h, f = history((A, B)), profiles([YOUNG])
    reasons = variant.explain(h, CC, k_reasons=10, features=f)
    weights = [r.weight for r in reasons]
    assert weights == sorted(weights, reverse=True)
    assert all(w > 0 for w in weights) or reasons[0].code == ReasonCode.popular
    held = [p for r in reasons if r.code == ReasonCode.co_held for p in r.related_products]
    assert set(held) <= {A, B} and len(held) == len(set(held))


def test_dates_in_the_profile_enter_as_their_year() -> None:
    data = planted()
    feats = data.train.customer_features
    joined = pl.Series(C.joined_at, [date(2010 + i % 3, 6, 1) for i in range(feats.height)])
    train = TrainData(data.train.interactions, feats.with_columns(joined), None)
    model = SequenceRecommender(max_iter=10).fit(train)
    assert C.joined_at in {e.column for e in model.encoder.encodings}
    as_date = profiles([YOUNG]).with_columns(pl.lit(date(2011, 1, 9)).alias(C.joined_at))
    as_year = as_date.with_columns(pl.lit(2011, pl.Int32).alias(C.joined_at))
    h = history((A,))
    np.testing.assert_array_equal(model.score(h, None, as_date), model.score(h, None, as_year))
    assert model.explain(h, CC, 5, features=as_date) == model.explain(h, CC, 5, features=as_year)
