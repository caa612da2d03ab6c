"""Where exploration goes in an answer: at most a share of its slots, after the hard rules.

Per row, the number of explore slots is share x k on average (whole slots, the fraction by
chance), never more than ceil(share x k). Each takes the exploring product with the
highest Thompson draw x the customer's affinity (their cold-start prior over the product's
mean one), among those every hard rule allows the customer and that the answer lacks. It
replaces the lowest-ranked item an offer did not place (or fills a padded slot).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.offers.arbitrate import NO_OFFER
from recsys.rules import PAD_ID


@dataclass(frozen=True, eq=False)
class Explored:
    """The answer's ids and scores with explore slots placed, and where (b, k) bool."""

    ids: np.ndarray
    scores: np.ndarray
    explored: np.ndarray


def slots_per_row(share: float, k: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows,) int: floor(share x k) plus one with probability of its fraction."""
    want = max(0.0, min(1.0, share)) * k
    whole = int(np.floor(want))
    return whole + (rng.random(rows) < want - whole).astype(np.int64)


def place_explored(
    ids: np.ndarray,
    scores: np.ndarray,
    offer_slots: np.ndarray,
    candidates: np.ndarray,
    draws: np.ndarray,
    n_slots: np.ndarray,
) -> Explored:
    """Put the best-drawn candidates into up to n_slots[row] slots of each row.

    `candidates` (b, n) bool: exploring products the rules allow for the row; `draws` (b, n)
    their draws (x affinity). An explored slot's score is that of the item it replaced, so
    scores still fall with rank.
    """
    ids, scores = ids.copy(), scores.copy()
    explored = np.zeros(ids.shape, dtype=bool)
    b, k = ids.shape
    for r in np.flatnonzero(n_slots > 0).tolist():
        shown = ids[r][ids[r] != PAD_ID]
        pool = candidates[r].copy()
        pool[shown] = False
        if not pool.any():
            continue
        order = np.argsort(-np.where(pool, draws[r], -np.inf), kind="stable")
        picks = [p for p in order[: int(n_slots[r])].tolist() if pool[p]]
        # a short answer's padded slots first, then the lowest-ranked items no offer placed
        padded = np.flatnonzero(ids[r] == PAD_ID).tolist()
        filled = [
            i for i in range(k - 1, -1, -1) if offer_slots[r, i] == NO_OFFER and ids[r, i] != PAD_ID
        ]
        for p, i in zip(picks, padded + filled, strict=False):
            if ids[r, i] == PAD_ID:
                scores[r, i] = scores[r, i - 1] if i > 0 else np.float32(0)
            ids[r, i] = p
            explored[r, i] = True
    return Explored(ids, scores, explored)
