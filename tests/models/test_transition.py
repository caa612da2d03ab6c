"""The last-product transition table: counts of what came right after what."""

import numpy as np
import scipy.sparse as sp

from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions
from recsys.models import load_model
from recsys.models.registry import build_model
from recsys.models.train_data import TrainData


def train(rows: list[dict[int, float]], n: int = 4) -> TrainData:
    m = sp.lil_matrix((len(rows), n), dtype=np.float32)
    for r, cells in enumerate(rows):
        for c, w in cells.items():
            m[r, c] = w
    ids = IdMap.from_values([f"c{i}" for i in range(len(rows))])
    return TrainData(Interactions(m.tocsr(), ids, IdMap.from_values([f"p{j}" for j in range(n)])))


def test_the_product_that_followed_the_newest_ranks_first(tmp_path):
    # older weights are smaller: 0 then 1 for most, 0 then 2 for one, 3 alone (no order)
    rows = [{0: 0.5, 1: 1.0}] * 5 + [{0: 0.5, 2: 1.0}] + [{3: 1.0}] * 8
    model = build_model("transition", {"smoothing": 0.0}).fit(train(rows))
    scores = model.score(np.array([[1.0, 0, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    assert np.argmax(scores[0]) == 1  # after 0 comes 1 (5 of 6 times)
    assert np.argmax(scores[1]) == 3  # no history: popularity (3 is held most)
    reasons = model.explain(np.array([[1.0, 0, 0, 0]], dtype=np.float32), 1)
    assert reasons[0].related_products == (0,) and "just took" in reasons[0].text
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert np.array_equal(again.score(np.eye(4, dtype=np.float32)), model.score(np.eye(4)))


def test_data_without_order_give_popularity():
    rows = [{0: 1.0, 1: 1.0}, {1: 1.0, 2: 1.0}, {1: 1.0}]
    model = build_model("transition", {}).fit(train(rows))
    assert model.counts.sum() == 0
    scores = model.score(np.array([[0, 0, 0, 1.0]], dtype=np.float32))
    assert np.argmax(scores[0]) == 1
