"""Tiny synthetic bank data with known answers, shared by every model's contract tests.

Products: A B C form group 1 (cards), D E F group 2 (savings), G is held at random by
about a third of everyone, H by two customers. Segment "young" customers hold group 1,
segment "senior" customers group 2, and group 1 is the larger one, so:
- co-occurrence: a customer holding A and B should get C first; D and E -> F;
- global popularity: C first; segment "senior" popularity: F first;
- profile: an empty-history "young" customer should get group 1, a "senior" one group 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.sparse as sp

from recsys.columns import Columns as C
from recsys.data.idmap import IdMap
from recsys.data.interactions import Interactions
from recsys.models import TrainData

A, B, CC, D, E, F, G, H = range(8)
GROUP1, GROUP2 = (A, B, CC), (D, E, F)
N_PRODUCTS = 8
YOUNG, SENIOR = "young", "senior"


@dataclass(frozen=True)
class Planted:
    """The training data plus the facts the tests check against."""

    train: TrainData
    holds: np.ndarray  # bool (customers x products)
    segments: np.ndarray  # str per customer


def _baskets() -> list[tuple[tuple[int, ...], str]]:
    g1 = [(A, B, CC)] * 24 + [(A, CC)] * 12 + [(B, CC)] * 12
    g2 = [(D, E, F)] * 16 + [(D, F)] * 8 + [(E, F)] * 8
    return [(b, YOUNG) for b in g1] + [(b, SENIOR) for b in g2]


def profiles(segments: list[str] | np.ndarray, ids: list[str] | None = None) -> pl.DataFrame:
    """Customer profile rows for the given segments (other columns fixed per segment)."""
    seg = [str(s) for s in segments]
    young = np.array([s == YOUNG for s in seg])
    return pl.DataFrame(
        {
            C.customer_id: ids or [f"new{i}" for i in range(len(seg))],
            C.birth_year: pl.Series(np.where(young, 1995, 1955), dtype=pl.Int32),
            C.segment: seg,
            C.risk_tolerance: pl.Series(np.where(young, 4, 2), dtype=pl.Int8),
            C.marketing_consent: [True] * len(seg),
            C.region: ["north"] * len(seg),
        }
    )


def planted(seed: int = 0) -> Planted:
    """The planted data set (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    baskets = _baskets()
    n = len(baskets)
    holds = np.zeros((n, N_PRODUCTS), dtype=bool)
    for row, (basket, _) in enumerate(baskets):
        holds[row, list(basket)] = True
    holds[:, G] = rng.random(n) < 0.3
    holds[rng.choice(n, 2, replace=False), H] = True
    segments = np.array([s for _, s in baskets])
    ids = [f"c{i:03d}" for i in range(n)]
    products = IdMap(np.array([f"p{i}" for i in range(N_PRODUCTS)]))
    matrix = sp.csr_matrix(holds.astype(np.float32))
    product_frame = pl.DataFrame(
        {
            C.product_id: products.ids.astype(str),
            C.category: ["credit_card"] * 3 + ["savings_account"] * 3 + ["insurance", "fx"],
            C.risk_rating: pl.Series([1, 1, 2, 1, 1, 1, 2, 3], dtype=pl.Int8),
        }
    )
    train = TrainData(
        Interactions(matrix, IdMap(np.array(ids)), products),
        customer_features=profiles(segments, ids),
        product_features=product_frame,
    )
    return Planted(train, holds, segments)


def history(*rows: tuple[int, ...]) -> sp.csr_matrix:
    """A CSR history batch: one row per tuple of held products (weight 1)."""
    dense = np.zeros((len(rows), N_PRODUCTS), dtype=np.float32)
    for r, items in enumerate(rows):
        dense[r, list(items)] = 1.0
    return sp.csr_matrix(dense)
