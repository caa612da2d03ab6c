"""The simulator's pure parts: channel mixes, the visit plan, one visit's answer, the tally."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.columns import DEFAULT_CHANNELS, Events
from recsys.data.generate.generator import generate_with_truth
from recsys.data.generate.timeline import DAY_US
from recsys.data.generate.truth import Truth
from recsys.simulate.bank import SimulatedBank, UnknownShownProduct
from recsys.simulate.tally import NO_ARM, Tally
from recsys.simulate.visits import MixError, parse_channel_mix, plan_visits

N = 800


@pytest.fixture(scope="module")
def truth() -> Truth:
    return generate_with_truth(N, 8)[1]


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(DEFAULT_CHANNELS), st.floats(0.01, 100), min_size=1))
def test_a_mix_is_normalised_and_keeps_its_channels(weights: dict[str, float]) -> None:
    text = ",".join(f"{name}={share}" for name, share in weights.items())
    mix = parse_channel_mix(text, DEFAULT_CHANNELS)
    assert list(mix) == list(weights)
    assert sum(mix.values()) == pytest.approx(1.0)
    total = sum(weights.values())
    for name, share in weights.items():
        assert mix[name] == pytest.approx(share / total)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mobile", "expected CHANNEL=SHARE"),
        ("fax=1", "'fax': unknown channel; known: mobile"),
        ("mobile=1,mobile=2", "given twice"),
        ("mobile=lots", "is not a number"),
        ("mobile=-1", ">= 0"),
        ("mobile=0,web=0", "sum to 0"),
    ],
)
def test_a_bad_mix_says_which_part(text: str, message: str) -> None:
    with pytest.raises(MixError, match=message):
        parse_channel_mix(text, DEFAULT_CHANNELS)


def test_visits_follow_activity_and_the_mix_and_lie_after_the_history(truth: Truth) -> None:
    rng = np.random.default_rng(1)
    visits = plan_visits(rng, truth, 20_000, {"mobile": 0.75, "atm": 0.25}, days=10)
    assert len(visits) == 20_000
    assert (np.diff(visits.at_us) >= 0).all()
    assert visits.at_us[0] == truth.end_us and visits.at_us[-1] < truth.end_us + 10 * DAY_US
    assert set(visits.channel.tolist()) == {"mobile", "atm"}
    assert (visits.channel == "mobile").mean() == pytest.approx(0.75, abs=0.02)
    # the most active tenth of customers visits far more often than the least active tenth
    counts = np.bincount(visits.customer, minlength=N)
    order = np.argsort(truth.customers.activity)
    assert counts[order[-N // 10:]].sum() > 3 * counts[order[: N // 10]].sum()


def test_without_a_mix_digital_customers_come_by_mobile_more(truth: Truth) -> None:
    visits = plan_visits(np.random.default_rng(2), truth, 20_000)
    digital = truth.customers.digital[visits.customer]
    assert set(visits.channel.tolist()) <= set(DEFAULT_CHANNELS)
    mobile = visits.channel == "mobile"
    assert mobile[digital].mean() > 2 * mobile[~digital].mean()
    again = plan_visits(np.random.default_rng(2), truth, 20_000)
    assert (again.customer == visits.customer).all() and (again.channel == visits.channel).all()


def test_a_visit_reports_every_impression_and_holds_what_was_bought(truth: Truth) -> None:
    bank = SimulatedBank(copy.deepcopy(truth), np.random.default_rng(3))
    shown = ["CC_CLASSIC", "SA_EASY", "INS_TRAVEL", "TD_12M", "MF_BOND"]
    bought_any = False
    for visit in range(300):
        customer = visit % N
        out = bank.visit(customer, "web", truth.end_us, shown, f"r{visit}")
        kinds = [e.type for e in out.events]
        assert kinds == [Events.impression] * 5 + [Events.click] * len(out.clicked) + [
            Events.purchase
        ] * len(out.bought)
        assert set(out.bought) <= set(out.clicked) <= set(shown)
        assert all(e.request_id == f"r{visit}" and e.channel == "web" for e in out.events)
        assert all(e.customer_id == str(bank.ids[customer]) for e in out.events)
        for pid in out.bought:
            bought_any = True
            p = bank.catalog.index(pid)
            assert bank.truth.state.last[customer] == p
            assert bank.truth.state.held[customer, p] != bank.catalog.repeatable[p]
    assert bought_any


def test_the_same_seed_gives_the_same_answers(truth: Truth) -> None:
    def play(seed: int) -> list[tuple[str, ...]]:
        bank = SimulatedBank(copy.deepcopy(truth), np.random.default_rng(seed))
        return [bank.visit(c, "web", truth.end_us, ["CC_CLASSIC", "SA_EASY"], "r").clicked
                for c in range(200)]

    assert play(4) == play(4)
    assert play(4) != play(5)


def test_a_product_the_bank_does_not_sell_is_an_error(truth: Truth) -> None:
    bank = SimulatedBank(truth, np.random.default_rng(0))
    with pytest.raises(UnknownShownProduct, match="'p9' was shown .* same --data"):
        bank.visit(0, "web", truth.end_us, ["SA_EASY", "p9"], "r")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "champion", "control"]),
                          st.sampled_from(["c1", "c2", "c3"]),
                          st.integers(0, 5), st.integers(0, 5), st.integers(0, 5))))
def test_the_tally_adds_up_across_arms(visits: list[tuple[str, str, int, int, int]]) -> None:
    tally = Tally()
    for arm, customer, shown, clicks, bought in visits:
        tally.add(arm, "7", customer, shown, clicks, bought)
    rows = tally.rows()
    total = tally.total()
    assert sum(r["visits"] for r in rows) == total.visits == len(visits)
    assert sum(r["purchases"] for r in rows) == total.purchases
    assert {r["arm"] for r in rows} == {a or NO_ARM for a, *_ in visits}
    for r in rows:
        assert r["purchase_rate"] == pytest.approx(r["purchases"] / r["customers"])


def test_value_per_1000_answers_has_an_interval_around_it() -> None:
    tally = Tally()
    for i in range(400):
        bought = ("TD_12M",) if i % 4 == 0 else ()
        tally.add("challenger", "7", f"c{i}", 3, 0, len(bought), 120.0 * len(bought), bought)
    [row] = tally.rows()
    mean, low, high = row["value_per_1000_answers"]
    assert mean == pytest.approx(30_000.0)  # a quarter of the answers sell 120
    assert low < mean < high and high - low < 12_000  # 1.96 x 2 x 120 x sqrt(3/16 / 400)
    assert row["purchases_per_1000_answers"][0] == pytest.approx(250.0)
    assert row["bought_log"][:2] == [(1, ("TD_12M",)), (5, ("TD_12M",))]
