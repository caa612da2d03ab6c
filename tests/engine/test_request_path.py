"""A request (one customer) takes fast paths; its answer equals the batch path's, bit for bit.

For each model family, every customer of a generated bank (and unknown ones) is recommended
alone, then as row 0 of a batch (which scores with the sparse matrices, the rules' general
path and masked_topk): same ids, same float32 scores, same masks, same reasons.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from recsys.data.interactions import Interactions
from recsys.engine.engine import SMALL_BATCH, Engine
from recsys.engine.snapshot import Snapshot
from recsys.models.registry import build_model
from recsys.models.train_data import TrainData
from recsys.settings import Settings
from tests.engine.conftest import build_engine

FAMILIES = {
    "itemknn": {},
    "popularity": {},
    "als": {"factors": 8, "iterations": 2},
    "sequence": {"max_iter": 20},
}
CHANNELS = ["mobile", "atm", "call_center"]


@pytest.fixture(scope="module", params=list(FAMILIES))
def engine(request: pytest.FixtureRequest, snapshot: Snapshot, settings: Settings) -> Engine:
    base = build_engine(snapshot, settings)
    inter = Interactions(snapshot.history, snapshot.customer_map, snapshot.product_map)
    train = TrainData(inter, snapshot.customers, snapshot.products)
    model = build_model(request.param, FAMILIES[request.param]).fit(train)
    return Engine(
        model,
        base.fallback,
        snapshot,
        excluded_categories=base.excluded_categories,
        purchase_weight=base.purchase_weight,
    )


def test_one_customer_equals_row_zero_of_a_batch(engine: Engine, today: date) -> None:
    ids = [str(c) for c in engine.snapshot.customer_map.ids[::4]] + ["nobody", "new one"]
    other = str(engine.snapshot.customer_map.ids[1])
    big = [other] * (SMALL_BATCH + 1)  # past the small-batch rules too
    for i, cid in enumerate(ids):
        channel = CHANNELS[i % len(CHANNELS)]
        alone = engine.state([cid])
        batch = engine.state([cid, *(big if i % 2 else [other])])
        one = engine.recommend(alone, 5, at=today, channel=channel)
        many = engine.recommend(batch, 5, at=today, channel=channel)
        np.testing.assert_array_equal(one.ids[0], many.ids[0])
        np.testing.assert_array_equal(one.scores[0], many.scores[0])
        assert one.fallback[0] == many.fallback[0]
        assert list(one.masks) == list(many.masks)
        for rule, mask in one.masks.items():
            np.testing.assert_array_equal(mask[0], many.masks[rule][0], err_msg=rule)
        products = [int(p) for p in one.ids[0] if p >= 0]
        fallback = bool(one.fallback[0])
        model = engine.fallback if fallback else engine.model
        expected = [
            model.explain(batch.history[[0]], p, 2, features=batch.features[0:1]) for p in products
        ]
        assert engine.explain_items(alone, 0, products, fallback, 2) == expected
