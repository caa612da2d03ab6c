"""Explainer: the reasons of several products at once equal model.explain, product by product."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from recsys.columns import Columns as C
from recsys.data.interactions import Interactions
from recsys.engine.engine import Engine
from recsys.engine.explain import Explainer
from recsys.engine.snapshot import Snapshot
from recsys.models.registry import build_model
from recsys.models.train_data import TrainData

K_REASONS = 2


FAST_PARAMS = {"als": {"factors": 8, "iterations": 2}, "sequence": {"max_iter": 20}}


@pytest.mark.parametrize("family", ["itemknn", "popularity", "als", "sequence"])
def test_explainer_equals_model_explain(snapshot: Snapshot, family: str) -> None:
    inter = Interactions(snapshot.history, snapshot.customer_map, snapshot.product_map)
    params = FAST_PARAMS.get(family, {})
    model = build_model(family, params).fit(TrainData(inter, snapshot.customers, snapshot.products))
    explainer = Explainer(model)
    n = len(snapshot.product_map)
    rows = np.flatnonzero(np.diff(snapshot.history.indptr) > 0)[:60]
    for row in rows.tolist():
        history = snapshot.history[[row]].astype(np.float32)
        features = snapshot.customers.slice(row, 1)
        products = list(range(0, n, 3))
        got = explainer.explain(history, products, K_REASONS, features)
        expected = [model.explain(history, p, K_REASONS, features=features) for p in products]
        assert got == expected


def test_popularity_reasons_follow_the_segment_even_when_cached(snapshot: Snapshot) -> None:
    inter = Interactions(snapshot.history, snapshot.customer_map, snapshot.product_map)
    model = build_model("popularity", {}).fit(
        TrainData(inter, snapshot.customers, snapshot.products)
    )
    explainer = Explainer(model)
    empty = snapshot.history[[0]].astype(np.float32) * 0
    for segment in [*model.segments, "a segment nobody is in", None, *model.segments]:
        features = pl.DataFrame({C.segment: [segment]}, schema={C.segment: pl.String})
        got = explainer.explain(empty, [0, 1], K_REASONS, features)
        assert got == [model.explain(empty, p, K_REASONS, features=features) for p in (0, 1)]


def test_engine_reasons_equal_the_models(engine: Engine, today: date) -> None:
    ids = [str(c) for c in engine.snapshot.customer_map.ids[:40]] + ["nobody"]
    for cid in ids:
        state = engine.state([cid])
        out = engine.recommend(state, 5, at=today, channel="web")
        products = [int(p) for p in out.ids[0] if p >= 0]
        fallback = bool(out.fallback[0])
        model = engine.fallback if fallback else engine.model
        got = engine.explain_items(state, 0, products, fallback, K_REASONS)
        expected = [
            model.explain(state.history, p, K_REASONS, features=state.features) for p in products
        ]
        assert got == expected
