"""Engine: every hard rule on every path, fallback for empty histories, reasons, save/load."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from recsys.columns import Columns as C
from recsys.engine.engine import Engine, at_noon
from recsys.engine.request import Answer, Request
from recsys.engine.snapshot import Snapshot
from recsys.rules.eligibility import ADULT_AGE
from recsys.settings import Settings
from tests.engine.rules_oracle import REASON, allowed_pairs, check_suggestions

CHANNELS = [None, "mobile", "web", "branch", "call_center", "atm"]


def top(engine: Engine, ids: list[str], k: int, day: date, **options) -> Answer:
    """The pipeline's answer for `ids` on `day`, without reasons."""
    return engine.answer(Request(ids, k, at_noon(day), reasons=0, **options))


def profiles(snapshot: Snapshot, ids: list[str]) -> pl.DataFrame:
    """customer_id, risk_tolerance, birth_year of `ids` (nulls for customers not in it)."""
    frame = snapshot.customers.select(C.customer_id, C.risk_tolerance, C.birth_year)
    wanted = pl.DataFrame({C.customer_id: ids}, schema={C.customer_id: pl.String})
    return wanted.join(frame, on=C.customer_id, how="left", maintain_order="left")


def effective_holdings(
    held: pl.DataFrame, ids: list[str], overrides: list[list[str] | None]
) -> pl.DataFrame:
    """Snapshot holdings, replaced per customer where an override list is given."""
    replaced = [c for c, h in zip(ids, overrides, strict=True) if h is not None]
    given = [(c, p) for c, h in zip(ids, overrides, strict=True) if h is not None for p in h]
    kept = held.filter(~pl.col(C.customer_id).is_in(replaced)).select(C.customer_id, C.product_id)
    extra = pl.DataFrame(given, schema=[C.customer_id, C.product_id], orient="row")
    return pl.concat([kept, extra])


def with_profiles(engine: Engine, changes: dict[str, tuple[int, int | None]]) -> Engine:
    """The engine over a snapshot where some customers have another risk tolerance/birth year."""
    customers = engine.snapshot.customers
    change = pl.DataFrame(
        [(c, r, b) for c, (r, b) in changes.items()],
        schema={C.customer_id: pl.String, "_r": pl.Int8, "_b": pl.Int32},
        orient="row",
    )
    joined = customers.join(change, on=C.customer_id, how="left", maintain_order="left")
    hit = pl.col("_r").is_not_null()
    customers = joined.with_columns(
        pl.when(hit).then(pl.col("_r")).otherwise(pl.col(C.risk_tolerance)).alias(C.risk_tolerance),
        pl.when(hit).then(pl.col("_b")).otherwise(pl.col(C.birth_year)).alias(C.birth_year),
    ).drop("_r", "_b")
    snapshot = dataclasses.replace(engine.snapshot, customers=customers)
    return Engine(
        engine.model,
        engine.fallback,
        snapshot,
        excluded_categories=engine.excluded_categories,
        purchase_weight=engine.purchase_weight,
    )


@st.composite
def requests(draw: st.DrawFn, snapshot: Snapshot) -> dict:
    """A batch of known and unknown customers, profile changes, holdings overrides, a channel."""
    n_customers, products = len(snapshot.customer_map), snapshot.product_map.ids.tolist()
    rows = draw(st.lists(st.integers(0, n_customers - 1), max_size=6, unique=True))
    n_new = draw(st.integers(0 if rows else 1, 3))
    ids = snapshot.customer_map.ids[rows].tolist() + [f"new-{i}" for i in range(n_new)]
    holdings = st.none() | st.lists(st.sampled_from(products), max_size=6)
    changes = {
        c: (draw(st.integers(1, 5)), draw(st.none() | st.integers(1925, 2022)))
        for c in ids[: len(rows)]
        if draw(st.booleans())
    }
    return {
        "ids": ids,
        "overrides": [draw(holdings) for _ in ids],
        "changes": changes,
        "channel": draw(st.sampled_from(CHANNELS)),
        "k": draw(st.integers(1, 12)),
        "days": draw(st.integers(-800, 400)),
    }


@pytest.fixture(scope="module", params=["champion", "control"])
def arm_engine(request: pytest.FixtureRequest, engine: Engine) -> Engine:
    """The engine an experiment arm answers with: the model's, or the control's (the same
    engine with its fallback, popularity, ranking every row)."""
    from serving.experiments.arms import control_engine

    return engine if request.param == "champion" else control_engine(engine)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_property_every_suggestion_passes_every_hard_rule(
    arm_engine: Engine, held: pl.DataFrame, today: date, data: st.DataObject
) -> None:
    """Suitability, age, sale window, held, channel: checked against an independent oracle,
    in every experiment arm (the control too)."""
    engine = arm_engine
    req = data.draw(requests(engine.snapshot))
    changed = with_profiles(engine, req["changes"]) if req["changes"] else engine
    at = today + timedelta(days=req["days"])
    result = changed.recommend_frame(
        req["ids"], req["k"], holdings=req["overrides"], channel=req["channel"], at=at
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


def test_all_customers_in_every_channel_follow_the_rules(
    engine: Engine, held: pl.DataFrame, today: date, settings: Settings
) -> None:
    ids = engine.snapshot.customer_map.ids[::8].tolist()
    products = engine.snapshot.products
    for channel in CHANNELS:
        result = engine.recommend_frame(ids, 5, channel=channel, at=today)
        excluded = settings.channels[channel].excluded_categories if channel else []
        allowed = allowed_pairs(
            profiles(engine.snapshot, ids),
            products,
            held,
            at=today,
            channel=channel,
            excluded_categories=excluded,
        )
        check_suggestions(result, allowed, 5)


def test_atm_never_shows_the_categories_settings_exclude_there(
    engine: Engine, today: date, settings: Settings
) -> None:
    excluded = set(settings.channels["atm"].excluded_categories)
    assert {"mortgage", "mutual_fund"} <= excluded
    # every product sold in every channel: only the settings' category list can keep them out
    products = engine.snapshot.products.with_columns(
        pl.lit(None).cast(pl.List(pl.String)).alias(C.channels)
    )
    everywhere = Engine(
        engine.model,
        engine.fallback,
        dataclasses.replace(engine.snapshot, products=products),
        excluded_categories=engine.excluded_categories,
    )
    customers = everywhere.snapshot.customer_map.ids.tolist()
    n = len(everywhere.catalog)

    def shown(channel: str | None) -> set[str]:
        ids = top(everywhere, customers, n, today, channel=channel).ids
        return set(everywhere.catalog.category[np.unique(ids[ids >= 0])].tolist())

    assert shown("mobile") & excluded  # elsewhere these categories do get suggested
    assert not shown("atm") & excluded


def test_unknown_channel_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown channel 'kiosk'"):
        engine.recommend_frame(["x"], 3, channel="kiosk")


@pytest.mark.parametrize("k", [0, -1])
def test_k_must_be_positive(engine: Engine, k: int) -> None:
    with pytest.raises(ValueError, match="k must be >= 1"):
        engine.recommend_frame(["x"], k)


def test_customer_of_unknown_age_gets_only_products_open_to_every_adult(
    engine: Engine, today: date
) -> None:
    products = engine.snapshot.products
    age_bound = set(
        products.filter((pl.col(C.min_age) > ADULT_AGE) | pl.col(C.max_age).is_not_null())[
            C.product_id
        ].to_list()
    )
    adult = engine.snapshot.customer_map.ids[0]
    changed = with_profiles(engine, {adult: (5, today.year - 35)})
    n = len(engine.catalog)
    holdings = [["CA_EVERYDAY"]]
    as_adult = changed.recommend_frame([adult], n, holdings=holdings, at=today)
    assert set(as_adult[C.product_id]) & age_bound  # a 35-year-old gets e.g. a mortgage
    unknown = changed.recommend_frame(["new"], n, holdings=holdings, at=today)
    no_age = with_profiles(engine, {adult: (5, None)})
    known_no_age = no_age.recommend_frame([adult], n, holdings=holdings, at=today)
    for out in (unknown, known_no_age):
        assert out.height > 0
        assert not set(out[C.product_id]) & age_bound


def test_unknown_customer_without_holdings_gets_popularity(engine: Engine, today: date):
    state = engine.state(["new-1", "new-2"])
    out = top(engine, ["new-1", "new-2"], 5, today)
    assert out.fallback.tolist() == [True, True]
    frame = engine.recommend_frame(["new-1", "new-2"], 5, at=today)
    assert frame.filter(pl.col(C.customer_id) == "new-1")[C.product_id].to_list() == (
        frame.filter(pl.col(C.customer_id) == "new-2")[C.product_id].to_list()
    )
    assert frame[REASON].str.starts_with("popular").all()
    # the order is the fallback's own ranking of the products the rules allow
    history = sp.csr_matrix(state.history[:1])
    scores = engine.fallback.score(history, state.rows[:1], state.features[:1])[0]
    allowed = np.flatnonzero(out.masks["suitability"][0])
    assert frame["score"][:5].to_list() == pytest.approx(np.sort(scores[allowed])[::-1][:5])


def test_unknown_customer_with_holdings_is_scored_by_the_model(engine: Engine, today: date):
    holdings = [["CA_SALARY"]]
    out = top(engine, ["new"], 5, today, holdings=holdings)
    assert out.fallback.tolist() == [False]
    frame = engine.recommend_frame(["new"], 5, holdings=holdings, at=today)
    assert frame.height == 5
    assert "CA_SALARY" not in frame[C.product_id].to_list()
    salary = engine.snapshot.products.filter(pl.col(C.product_id) == "CA_SALARY")[C.name][0]
    assert frame[REASON].str.contains(salary, literal=True).any()


def test_known_customer_gets_the_model_top_k(engine: Engine, today: date) -> None:
    ids = engine.snapshot.customer_map.ids[:50].tolist()
    out = top(engine, ids, 4, today)
    frame = engine.recommend_frame(ids, 4, at=today)
    assert not out.fallback.any()
    expected = [engine.snapshot.product_map.ids[row[row >= 0]].tolist() for row in out.ids]
    got = frame.group_by(C.customer_id, maintain_order=True).agg(pl.col(C.product_id))
    by_id = dict(zip(got[C.customer_id], got[C.product_id].to_list(), strict=True))
    assert [by_id.get(c, []) for c in ids] == expected


def test_a_customer_gets_the_same_list_alone_or_in_a_batch(engine: Engine, today: date):
    ids = [*engine.snapshot.customer_map.ids[100:110].tolist(), "new"]
    holdings = [None] * 10 + [["CC_CLASSIC"]]
    batch = engine.recommend_frame(ids, 5, holdings=holdings, at=today)
    for cid, h in zip(ids, holdings, strict=True):
        alone = engine.recommend_frame([cid], 5, holdings=[h], at=today)
        assert_frame_equal(alone, batch.filter(pl.col(C.customer_id) == cid))


def test_excluded_products_are_not_suggested(engine: Engine, today: date) -> None:
    ids = engine.snapshot.customer_map.ids[:30].tolist()
    first = top(engine, ids, 3, today).ids
    shown = np.unique(first[first >= 0])
    exclude = engine.snapshot.product_map.to_external(shown).tolist()
    again = top(engine, ids, 3, today, exclude=exclude).ids
    assert not np.isin(again[again >= 0], shown).any()


def test_save_load_gives_identical_results(engine: Engine, today: date, tmp_path: Path):
    engine.manifest["run_id"] = "abc"
    try:
        folder = engine.save(tmp_path / "bundle")
    finally:
        del engine.manifest["run_id"]
    loaded = Engine.load(folder)
    assert loaded.manifest["run_id"] == "abc"
    assert loaded.manifest["family"] == engine.model.family
    ids = [*engine.snapshot.customer_map.ids[::10].tolist(), "new-1", "new-2"]
    holdings = [None] * (len(ids) - 2) + [["CA_SALARY", "CC_CLASSIC"], None]
    for channel in (None, "atm"):
        assert_frame_equal(
            loaded.recommend_frame(ids, 5, holdings=holdings, channel=channel, at=today),
            engine.recommend_frame(ids, 5, holdings=holdings, channel=channel, at=today),
        )


def test_product_masks_kept_per_day_and_channel_match_fresh_ones(engine: Engine, today: date):
    from recsys.engine.engine import PRODUCT_MASKS_KEPT
    from recsys.rules import product_masks

    for offset in range(PRODUCT_MASKS_KEPT + 3):  # past the limit: the kept ones are dropped
        day = today + timedelta(days=offset * 17)
        for channel in CHANNELS:
            kept = engine.product_masks(day, channel)
            assert engine.product_masks(day, channel) is kept
            fresh = product_masks(
                engine.catalog,
                at=day,
                channel=channel,
                excluded_categories=engine.excluded_for(channel),
            )
            assert {r: m.tolist() for r, m in kept.items()} == {
                r: m.tolist() for r, m in fresh.items()
            }
    assert len(engine._product_masks) <= PRODUCT_MASKS_KEPT
