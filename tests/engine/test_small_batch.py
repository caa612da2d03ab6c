"""small_batch: the request path's rules and top-k equal recsys.rules' on every input tried."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys.engine.small_batch as small
from recsys.engine.engine import Engine
from recsys.engine.small_batch import RequestRules, dense_rows
from recsys.rules import CustomerBatch, masked_topk, rule_masks
from recsys.rules.topk import _batch_topk


def assert_same_masks(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert list(got) == list(expected)  # same rules, in RULES order
    for name, mask in expected.items():
        np.testing.assert_array_equal(got[name], mask, err_msg=name)


@pytest.mark.parametrize("b", [1, 3])
def test_request_masks_equal_rule_masks(engine: Engine, today: date, b: int) -> None:
    rules = RequestRules(engine.catalog, engine.excluded_categories)
    rng = np.random.default_rng(b)
    n = len(engine.catalog)
    for trial in range(40):
        customers = CustomerBatch.from_arrays(
            birth_year=rng.integers(1920, 2015, b),
            risk_tolerance=rng.integers(1, 6, b),
            marketing_consent=rng.random(b) < 0.5,
            segment=rng.choice(["mass", "affluent", "unknown"], b),
        )
        held = (rng.random((b, n)) < 0.2) * rng.integers(1, 3, (b, n)).astype(float)
        channel = [None, *engine.excluded_categories][trial % (len(engine.excluded_categories) + 1)]
        day = today + timedelta(days=int(rng.integers(-400, 400)))
        excluded = engine.excluded_categories.get(channel, ()) if channel else ()
        expected = rule_masks(
            engine.catalog, customers, held, at=day, channel=channel, excluded_categories=excluded
        )
        assert_same_masks(rules.masks(customers, held, at=day, channel=channel), expected)


def test_cached_product_rules_are_read_only(engine: Engine, today: date) -> None:
    rules = RequestRules(engine.catalog, engine.excluded_categories)
    one = CustomerBatch.from_arrays(
        birth_year=[1980], risk_tolerance=[3], marketing_consent=[True], segment=["mass"]
    )
    masks = rules.masks(one, np.zeros((1, len(engine.catalog))), at=today, channel="atm")
    with pytest.raises(ValueError, match="read-only"):
        masks["active"][0, 0] = not masks["active"][0, 0]


def test_a_customer_rule_missing_from_the_list_stops_the_engine(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without "suitability" among the customer rules it would be cached for a probe customer
    monkeypatch.setattr(small, "CUSTOMER_RULES", ("age", "held"))
    with pytest.raises(ValueError, match="suitability"):
        RequestRules(engine.catalog, engine.excluded_categories)


def test_engine_masks_equal_rule_masks_for_a_request(engine: Engine, today: date) -> None:
    ids = [str(engine.snapshot.customer_map.ids[i]) for i in (0, 7, 99)] + ["nobody"]
    for cid in ids:
        state = engine.state([cid])
        got = engine.allowed_masks(state, at=today, channel="mobile")
        excluded = engine.excluded_categories["mobile"]
        expected = rule_masks(
            engine.catalog, state.customers, state.held, at=today, channel="mobile",
            excluded_categories=excluded,
        )
        if not state.age_known.all():  # the engine's own rule for customers of unknown age
            expected["age"] = np.where(state.age_known[:, None], expected["age"],
                                       engine._any_adult_age[None, :])
        assert_same_masks(got, expected)


scores_rows = st.lists(
    st.sampled_from([0.0, 0.5, 0.5, 1.0, -1.0, 2.0, float("-inf")]), min_size=1, max_size=12
)


@settings(max_examples=300, deadline=None)
@given(values=scores_rows, data=st.data())
def test_topk_of_one_row_equals_the_batch_path(values: list[float], data: st.DataObject) -> None:
    scores = np.asarray([values], dtype=np.float32)
    allowed = np.asarray([data.draw(st.lists(st.booleans(), min_size=len(values),
                                             max_size=len(values)))])
    k = data.draw(st.integers(1, len(values) + 3))
    ids, top = masked_topk(scores, allowed, k)  # the one-row path
    expected_ids, expected_top = _batch_topk(scores, allowed, k)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(top, expected_top)


def test_one_row_topk_refuses_nan_like_the_batch_path() -> None:
    scores = np.asarray([[0.1, np.nan, 0.3]], dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        masked_topk(scores, np.ones((1, 3), dtype=bool), 2)
    ids, _ = masked_topk(scores, np.asarray([[True, False, True]]), 2)  # disallowed NaN is fine
    assert ids.tolist() == [[2, 0]]


def test_dense_rows_equal_toarray_with_duplicates() -> None:
    data = np.array([1.0, 2.0, -1.0, 3.0], np.float32)
    m = sp.csr_matrix((data, np.array([2, 2, 0, 1]), np.array([0, 3, 3, 4])), shape=(3, 4))
    assert not m.has_canonical_format
    np.testing.assert_array_equal(dense_rows(m), m.toarray())


held_cells = st.lists(
    st.tuples(st.integers(0, 200), st.sampled_from([0.0, -1.0, 0.5, 1.0, 2.0])), max_size=8
)


@settings(max_examples=150, deadline=None)
@given(
    cells=held_cells,
    risk=st.integers(1, 5),
    born=st.integers(1900, 2030),
    days=st.integers(-800, 800),
    channel_at=st.integers(0, 5),
)
def test_one_customer_with_csr_holdings_equals_rule_masks(
    engine: Engine, today: date, cells, risk: int, born: int, days: int, channel_at: int
) -> None:
    # one customer: suitability and age rows are kept per value, held is read off the CSR
    # row (unsorted and repeated cells included: repeats add up before "held" is decided)
    rules = engine._request_rules  # shared, so kept rows of earlier examples are reused
    n = len(engine.catalog)
    cols = np.array([c % n for c, _ in cells], dtype=np.int32)
    data = np.array([q for _, q in cells])
    held = sp.csr_matrix((data, cols, np.array([0, len(cells)])), shape=(1, n))
    customer = CustomerBatch.from_arrays(
        birth_year=[born], risk_tolerance=[risk], marketing_consent=[True], segment=["mass"]
    )
    channels = [None, *engine.excluded_categories]
    channel = channels[channel_at % len(channels)]
    day = today + timedelta(days=days)
    excluded = engine.excluded_categories.get(channel, ()) if channel else ()
    expected = rule_masks(
        engine.catalog, customer, held, at=day, channel=channel, excluded_categories=excluded
    )
    got = rules.masks(customer, held, at=day, channel=channel)
    assert_same_masks(got, expected)
    assert not got["suitability"].flags.writeable and not got["age"].flags.writeable


def test_kept_customer_rows_are_bounded(
    engine: Engine, today: date, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(small, "MAX_CACHED_CUSTOMER_ROWS", 3)
    rules = RequestRules(engine.catalog, engine.excluded_categories)
    held = np.zeros((1, len(engine.catalog)))
    for born in range(1950, 1960):
        one = CustomerBatch.from_arrays(
            birth_year=[born], risk_tolerance=[3], marketing_consent=[True], segment=["mass"]
        )
        rules.masks(one, held, at=today, channel="web")
        assert len(rules._age) <= 3
