"""The pipeline's exploration step: Thompson draws for the exploring products, into slots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from recsys.coldstart.features import bought_categories_of
from recsys.exploration.posterior import Posterior
from recsys.exploration.slots import Explored, place_explored, slots_per_row
from recsys.rules.consent import offers_allowed

if TYPE_CHECKING:
    from recsys.engine.engine import Engine
    from recsys.engine.state import BatchState

EXPLORE_TEXT: Final = "new: we think this may suit you"


@dataclass(frozen=True, eq=False)
class ExplorationRun:
    """What a request explores with: the posteriors, the channel's share, the prior's mean
    per product (a customer's affinity is their prior over it) and the random source."""

    posterior: Posterior
    share: float
    prior_mean: np.ndarray  # float64 (n,): the cold-start prior's mean over customers
    rng: np.random.Generator


def explore(
    engine: Engine,
    state: BatchState,
    run: ExplorationRun,
    ids: np.ndarray,
    scores: np.ndarray,
    offer_slots: np.ndarray,
    allowed: np.ndarray,
) -> Explored | None:
    """The answer with explore slots placed; None when nothing explores for this request.

    Candidates are exploring products every hard rule allows, for customers with marketing
    consent only: exploration pushes a product, as an offer does.
    """
    b, k = ids.shape
    exploring = run.posterior.exploring
    n_slots = slots_per_row(run.share, k, b, run.rng)
    if not exploring.any() or not n_slots.any():
        return None
    candidates = allowed & exploring[None, :] & offers_allowed(state.customers)[:, None]
    if not candidates.any():
        return None
    draws = run.posterior.sample(run.rng, b) * affinity(engine, state, exploring, run.prior_mean)
    return place_explored(ids, scores, offer_slots, candidates, draws, n_slots)


def affinity(
    engine: Engine, state: BatchState, columns: np.ndarray, prior_mean: np.ndarray
) -> np.ndarray:
    """(b, n): each customer's cold-start prior over the product's mean one (1 elsewhere, and
    everywhere when the bundle has no prior)."""
    out = np.ones((len(state.rows), columns.size))
    if engine.prior is None:
        return out
    products = engine.snapshot.products.filter(columns)
    bought = bought_categories_of(state.held, engine.catalog.category)
    prior = engine.prior.scores(state.features, products, bought)
    mean = np.maximum(prior_mean[columns], 1e-9)
    out[:, columns] = np.maximum(prior, 1e-9) / mean
    return out
