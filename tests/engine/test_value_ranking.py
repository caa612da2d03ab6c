"""The `value` ranking policy in the pipeline: every hard rule and consent still bind it,
values and levers reorder, the calibration travels with the bundle."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.columns import Columns as C
from recsys.engine.engine import FALLBACK, MODEL, Engine, at_noon
from recsys.engine.request import Request
from recsys.offers.arbitrate import NO_OFFER
from recsys.offers.model import Action, Offer, Status
from recsys.offers.placement import OfferRun
from recsys.ranking.calibration import Calibrator
from recsys.settings import RankingConfig
from tests.engine.rules_oracle import allowed_pairs, check_suggestions
from tests.engine.test_engine import effective_holdings, profiles, requests, with_profiles

CATEGORIES = ["term_deposit", "mortgage", "credit_card", "insurance", "mutual_fund"]


def platt(a: float, b: float) -> Calibrator:
    return Calibrator("platt", np.array([a, b]), np.empty(0))


@pytest.fixture(scope="module")
def calibrated(engine: Engine) -> Engine:
    """The shared engine with a calibration of its model and fallback."""
    return Engine(
        engine.model,
        engine.fallback,
        engine.snapshot,
        excluded_categories=engine.excluded_categories,
        purchase_weight=engine.purchase_weight,
        calibrators={MODEL: platt(4.0, -3.0), FALLBACK: platt(8.0, -4.0)},
    )


def value_configs() -> st.SearchStrategy[RankingConfig]:
    levers = st.dictionaries(st.sampled_from(CATEGORIES), st.floats(0, 5), max_size=3)
    return st.builds(
        RankingConfig,
        policy=st.just("value"),
        min_probability=st.sampled_from([0.0, 0.01, 0.2]),
        levers=levers,
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_value_policy_passes_every_hard_rule(
    calibrated: Engine, held: pl.DataFrame, today: date, data: st.DataObject
) -> None:
    """Suitability, age, sale window, held, channel under value ranking: the oracle agrees."""
    req = data.draw(requests(calibrated.snapshot))
    config = data.draw(value_configs())
    changed = with_profiles(calibrated, req["changes"]) if req["changes"] else calibrated
    changed.calibrators.update(calibrated.calibrators)
    at = today + timedelta(days=req["days"])
    result = changed.recommend_frame(
        req["ids"],
        req["k"],
        holdings=req["overrides"],
        channel=req["channel"],
        at=at,
        ranking=config,
    )
    allowed = allowed_pairs(
        profiles(changed.snapshot, req["ids"]),
        changed.snapshot.products,
        effective_holdings(held, req["ids"], req["overrides"]),
        at=at,
        channel=req["channel"],
        excluded_categories=changed.excluded_categories.get(req["channel"], ()),
    )
    check_suggestions(result, allowed, req["k"])


class Unlimited:
    """The slots port with no caps: every reservation succeeds."""

    def within_caps(self, offers, customer_ids, candidates) -> np.ndarray:
        return np.ones(candidates.shape, dtype=bool)

    def reserve(self, offer: Offer, customer_id: str) -> bool:
        return True


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.integers(0, 799), min_size=1, max_size=20, unique=True),
    product=st.integers(0, 45),
    config=value_configs(),
)
def test_property_offers_under_value_reach_only_consenting_customers(
    calibrated: Engine, today: date, rows: list[int], product: int, config: RankingConfig
) -> None:
    ids = calibrated.snapshot.customer_map.ids[rows].tolist()
    start = datetime.combine(today, datetime.min.time()).astimezone()
    offer = Offer(
        "pin",
        str(calibrated.snapshot.product_map.ids[product]),
        start - timedelta(days=1),
        start + timedelta(days=2),
        Action.pin,
        pin=1,
        status=Status.active,
        id="o1",
    )
    run = OfferRun.of([offer], [product], Unlimited())
    out = calibrated.answer(Request(ids, 3, at_noon(today), offers=run, ranking=config))
    consent = calibrated.profiles.take(np.asarray(rows)).marketing_consent
    placed = (out.slots != NO_OFFER).any(axis=1)
    assert not (placed & ~consent).any()


def test_value_levers_raise_a_category(calibrated: Engine, today: date) -> None:
    ids = calibrated.snapshot.customer_map.ids[:200].tolist()
    frame = calibrated.recommend_frame(ids, 3, at=today, ranking=RankingConfig(policy="value"))
    pushed = RankingConfig(policy="value", levers={"insurance": 50.0})
    raised = calibrated.recommend_frame(ids, 3, at=today, ranking=pushed)
    products = calibrated.snapshot.products
    category = dict(zip(products[C.product_id], products[C.category], strict=True))
    share = [
        np.mean([category[p] == "insurance" for p in f[C.product_id].to_list()])
        for f in (frame, raised)
    ]
    assert share[1] > share[0]


def test_items_carry_probability_value_and_lever(calibrated: Engine, today: date) -> None:
    config = RankingConfig(policy="value", levers={"term_deposit": 1.2})
    out = calibrated.answer(Request(["C000001"] * 1, 5, at_noon(today), ranking=config))
    items = out.items(0)
    assert out.policy == "value" and items
    products = calibrated.snapshot.products
    for s in items:
        assert 0 <= s.probability <= 1
        row = products.row(s.product, named=True)
        assert s.value == pytest.approx(row[C.value])
        assert s.lever == pytest.approx(1.2 if row[C.category] == "term_deposit" else 1.0)
        assert s.score == pytest.approx(s.probability * s.value * s.lever, rel=1e-5)


def test_an_engine_without_calibration_ranks_by_score(engine: Engine, today: date) -> None:
    ids = engine.snapshot.customer_map.ids[:50].tolist()
    by_value = engine.answer(Request(ids, 3, at_noon(today), ranking=RankingConfig(policy="value")))
    plain = engine.answer(Request(ids, 3, at_noon(today)))
    assert by_value.policy == "propensity" and by_value.valued is None
    np.testing.assert_array_equal(by_value.ids, plain.ids)


def test_save_load_keeps_the_calibration(calibrated: Engine, today: date, tmp_path: Path):
    loaded = Engine.load(calibrated.save(tmp_path / "bundle"))
    assert (tmp_path / "bundle" / "calibration.npz").exists()
    ids = calibrated.snapshot.customer_map.ids[:100].tolist()
    config = RankingConfig(policy="value", min_probability=0.01)
    a = calibrated.answer(Request(ids, 4, at_noon(today), ranking=config, reasons=0))
    b = loaded.answer(Request(ids, 4, at_noon(today), ranking=config, reasons=0))
    np.testing.assert_array_equal(a.ids, b.ids)
    np.testing.assert_array_equal(a.valued[0], b.valued[0])
