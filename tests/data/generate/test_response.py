"""The ground truth beside a generated bank, and the response model a simulator draws from."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.columns import Events
from recsys.data.generate import generate
from recsys.data.generate.catalog import build_catalog
from recsys.data.generate.exposure import IMPRESSION_CLICK
from recsys.data.generate.generator import generate_with_truth
from recsys.data.generate.journeys import conversion
from recsys.data.generate.propensity import build_propensity
from recsys.data.generate.response import (
    Shown,
    click_probability,
    draw_responses,
    intent_probability,
    purchase_given_click,
    record_purchases,
)
from recsys.data.generate.truth import TRUTH_FILE, Truth, TruthError, read_truth, write_truth

CATALOG = build_catalog()
PROP = build_propensity(CATALOG)
N = 1500


@pytest.fixture(scope="module")
def bank() -> tuple[pl.DataFrame, Truth]:
    data, truth = generate_with_truth(N, 21)
    return data.events, truth


def every_product(truth: Truth, customers: np.ndarray) -> Shown:
    """Each customer shown every product, at the end of the history."""
    p = len(CATALOG)
    return Shown(
        np.repeat(customers, p), np.tile(np.arange(p), len(customers)),
        np.full(len(customers) * p, truth.end_us, np.int64),
    )


def test_the_truth_comes_with_the_same_data(bank: tuple[pl.DataFrame, Truth]) -> None:
    events, truth = bank
    assert generate(N, 21).events.equals(events)
    assert len(truth) == N and truth.seed == 21


def test_the_state_is_where_the_events_leave_each_customer(
    bank: tuple[pl.DataFrame, Truth],
) -> None:
    events, truth = bank
    last = (
        events.filter(pl.col(C.event) == Events.purchase)
        .group_by(C.customer_id, maintain_order=True)
        .agg(pl.col(C.product_id).last(), pl.col(C.timestamp).last())
    )
    position = {cid: i for i, cid in enumerate(truth.customer_ids().tolist())}
    rows = [position[c] for c in last[C.customer_id].to_list()]
    assert CATALOG.ids[truth.state.last[rows]].tolist() == last[C.product_id].to_list()
    micros = last[C.timestamp].dt.epoch("us").to_numpy()
    np.testing.assert_array_equal(truth.state.last_us[rows], micros)


def test_truth_round_trips_and_refuses_what_does_not_fit(
    bank: tuple[pl.DataFrame, Truth], tmp_path: Path
) -> None:
    _, truth = bank
    write_truth(truth, tmp_path)
    back = read_truth(tmp_path)
    assert back.seed == truth.seed and back.end_us == truth.end_us
    np.testing.assert_array_equal(back.customers.activity, truth.customers.activity)
    np.testing.assert_array_equal(back.state.held, truth.state.held)
    with pytest.raises(TruthError, match="missing; only `recsys data generate`"):
        read_truth(tmp_path / "elsewhere")
    other = build_catalog(CATALOG.specs[:-1])
    with pytest.raises(TruthError, match="product_ids differ"):
        read_truth(tmp_path, other)
    (tmp_path / TRUTH_FILE).write_bytes(b"not a zip")
    with pytest.raises(TruthError, match="cannot read"):
        read_truth(tmp_path)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=20), st.sampled_from(range(len(CATALOG))))
def test_click_and_purchase_odds_are_probabilities_that_grow_with_intent(
    intents: list[float], product: int
) -> None:
    p = np.sort(np.array(intents))
    click = click_probability(p)
    buy = purchase_given_click(p, np.full(len(p), product), CATALOG)
    assert ((click >= IMPRESSION_CLICK - 1e-12) & (click <= 1)).all()
    assert ((buy >= 0) & (buy <= conversion(CATALOG)[product] + 1e-12)).all()
    assert (np.diff(click) >= 0).all() and (np.diff(buy) >= -1e-12).all()
    # P(click) * P(purchase | click) is what an intent converts to
    np.testing.assert_allclose(click * buy, p * conversion(CATALOG)[product], atol=1e-12)


def test_products_the_customer_may_not_buy_are_never_intended(
    bank: tuple[pl.DataFrame, Truth],
) -> None:
    _, truth = bank
    customers = np.arange(300)
    shown = every_product(truth, customers)
    p = intent_probability(truth, CATALOG, PROP, shown).reshape(len(customers), -1)
    unsuitable = CATALOG.risk[None, :] > truth.customers.risk_tolerance[customers][:, None]
    assert (p[unsuitable] == 0).all()
    assert (p[truth.state.held[customers]] == 0).all()
    assert (p > 0).any(axis=1).mean() > 0.9


def test_a_product_the_generator_makes_likelier_is_clicked_more_often(
    bank: tuple[pl.DataFrame, Truth],
) -> None:
    _, truth = bank
    customers = np.arange(N)
    shown = every_product(truth, customers)
    p = intent_probability(truth, CATALOG, PROP, shown)
    rng = np.random.default_rng(5)
    repeats = 20
    clicks = np.zeros(len(p))
    for _ in range(repeats):  # the same impressions again: the state is not changed here
        clicks += draw_responses(rng, truth, CATALOG, PROP, shown).click
    # each customer's likeliest product against their least likely eligible one
    by_customer = p.reshape(N, -1)
    likely = by_customer.argmax(axis=1)
    masked = np.where(by_customer > 0, by_customer, np.inf)
    unlikely = masked.argmin(axis=1)
    differ = by_customer[customers, likely] > 2 * by_customer[customers, unlikely]
    rates = clicks.reshape(N, -1) / repeats
    assert differ.sum() > N // 2
    assert rates[customers, likely][differ].mean() > 2 * rates[customers, unlikely][differ].mean()
    # across all impressions, the click rate rises with the generator's propensity, and is
    # the one the response model gives (the weakest half, the next 40%, the top tenth)
    eligible = p > 0
    group = np.searchsorted(np.quantile(p[eligible], [0.5, 0.9]), p[eligible])
    observed = [clicks[eligible][group == g].mean() / repeats for g in range(3)]
    expected = [click_probability(p[eligible][group == g]).mean() for g in range(3)]
    assert observed[0] < observed[1] < observed[2]
    np.testing.assert_allclose(observed, expected, atol=0.003)
    assert clicks[p == 0].mean() / repeats == pytest.approx(IMPRESSION_CLICK, abs=0.01)


def test_a_purchase_changes_what_the_customer_wants_next(
    bank: tuple[pl.DataFrame, Truth],
) -> None:
    _, base = bank
    truth = copy.deepcopy(base)
    salary = CATALOG.index("CA_SALARY")
    card = CATALOG.index("CC_CLASSIC")
    who = next(i for i in range(N) if truth.customers.risk_tolerance[i] >= 1
               and not truth.state.held[i, card] and not truth.state.held[i, salary]
               and truth.customers.segment[i] == 2)  # a "mass" customer
    at = truth.end_us
    one = Shown(np.array([who]), np.array([card]), np.array([at]))
    before = intent_probability(truth, CATALOG, PROP, one)[0]
    record_purchases(truth, CATALOG, np.array([who]), np.array([salary]), np.array([at]))
    assert truth.state.held[who, salary] and truth.state.last[who] == salary
    assert intent_probability(truth, CATALOG, PROP, one)[0] > 2 * before
    again = Shown(np.array([who]), np.array([salary]), np.array([at]))
    assert intent_probability(truth, CATALOG, PROP, again)[0] == 0
