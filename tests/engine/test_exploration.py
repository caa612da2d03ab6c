"""Exploration in the pipeline: the hard rules and consent bind explored items, which say so."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys.coldstart.evaluate import fit_recent
from recsys.data.dataset import BankData
from recsys.engine.claims import Claim
from recsys.engine.engine import FRAME_SCHEMA, Engine, at_noon
from recsys.engine.request import EXPLORE_REASON, Request
from recsys.exploration.posterior import Counts, posterior
from recsys.exploration.step import ExplorationRun
from tests.engine.rules_oracle import OUTPUT_COLUMNS, allowed_pairs, check_suggestions
from tests.engine.test_engine import effective_holdings, profiles, requests, with_profiles


def run(n: int, share: float = 1.0, seed: int = 0, exploring: np.ndarray | None = None):
    """Every product (or `exploring`) explores, with no counts yet."""
    new = np.ones(n, dtype=bool) if exploring is None else exploring
    post = posterior(
        np.full(n, 0.02), Counts.zeros(n), new, strength=50, max_impressions=5000, tight=0.1
    )
    return ExplorationRun(post, share, np.ones(n), np.random.default_rng(seed))


@pytest.fixture(scope="module")
def with_prior(engine: Engine, bank: BankData) -> Engine:
    """The shared engine with a cold-start prior fitted on the bank."""
    prior = fit_recent(bank.customers, bank.products, bank.events, engine.snapshot.as_of)
    return Engine(
        engine.model,
        engine.fallback,
        engine.snapshot,
        excluded_categories=engine.excluded_categories,
        purchase_weight=engine.purchase_weight,
        prior=prior,
    )


def frame_of(engine: Engine, out) -> pl.DataFrame:
    rows = [(out.customer_ids[r], s) for r in range(len(out.customer_ids)) for s in out.items(r)]
    ids = engine.snapshot.product_map.ids
    return pl.DataFrame(
        [(c, s.rank, str(ids[s.product]), float(s.score), s.reasons[0].text) for c, s in rows],
        schema=dict(zip(OUTPUT_COLUMNS, FRAME_SCHEMA.values(), strict=True)),
        orient="row",
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_explored_answers_pass_every_hard_rule(
    with_prior: Engine, held: pl.DataFrame, today: date, data: st.DataObject
) -> None:
    """Suitability, age, sale window, held, channel with exploration on every slot it may take."""
    req = data.draw(requests(with_prior.snapshot))
    changed = with_profiles(with_prior, req["changes"]) if req["changes"] else with_prior
    changed.prior = with_prior.prior
    at = today + timedelta(days=req["days"])
    explore = run(
        len(changed.catalog),
        share=data.draw(st.sampled_from([0.2, 0.5, 1.0])),
        seed=data.draw(st.integers(0, 99)),
    )
    out = changed.answer(
        Request(
            req["ids"],
            req["k"],
            at_noon(at),
            channel=req["channel"],
            holdings=req["overrides"],
            exploration=explore,
            reasons=1,
        )
    )
    allowed = allowed_pairs(
        profiles(changed.snapshot, req["ids"]),
        changed.snapshot.products,
        effective_holdings(held, req["ids"], req["overrides"]),
        at=at,
        channel=req["channel"],
        excluded_categories=changed.excluded_categories.get(req["channel"], ()),
    )
    check_suggestions(frame_of(changed, out), allowed, req["k"])
    # consent: nobody without it is explored at
    consent = changed.state(req["ids"]).customers.marketing_consent
    if out.explored is not None:
        assert not out.explored[~consent].any()


def test_explored_items_carry_the_explore_reason(with_prior: Engine, today: date) -> None:
    ids = with_prior.snapshot.customer_map.ids[:300].tolist()
    out = with_prior.answer(
        Request(ids, 5, at_noon(today), exploration=run(len(with_prior.catalog), share=0.2))
    )
    assert out.explored is not None and out.explored.any()
    consent = with_prior.state(ids).customers.marketing_consent
    assert not out.explored[~consent].any()
    for r, c in zip(*np.nonzero(out.explored), strict=True):
        assert out.reasons[r][c] == (EXPLORE_REASON,)
        assert EXPLORE_REASON.code == Claim.explore
        assert EXPLORE_REASON.text == "new: we think this may suit you"
    assert out.explored.sum() <= 300  # share 0.2 of 5 slots: one at most per answer
    assert (out.explored.sum(axis=1) <= 1).all()


def test_only_exploring_products_are_explored(engine: Engine, today: date) -> None:
    n = len(engine.catalog)
    only = np.zeros(n, dtype=bool)
    only[[3, 17]] = True
    ids = engine.snapshot.customer_map.ids[:200].tolist()
    out = engine.answer(Request(ids, 5, at_noon(today), exploration=run(n, 1.0, 1, only)))
    assert out.explored is not None and out.explored.any()
    assert set(out.ids[out.explored].tolist()) <= {3, 17}


def test_share_zero_changes_nothing(engine: Engine, today: date) -> None:
    ids = engine.snapshot.customer_map.ids[:100].tolist()
    plain = engine.answer(Request(ids, 5, at_noon(today), reasons=0))
    none = engine.answer(
        Request(ids, 5, at_noon(today), reasons=0, exploration=run(len(engine.catalog), share=0.0))
    )
    np.testing.assert_array_equal(plain.ids, none.ids)
    assert none.explored is None
