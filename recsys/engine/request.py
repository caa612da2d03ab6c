"""The one request pipeline: a Request in, an Answer out, for one customer or many.

state (snapshot rows, holdings the caller knows) -> context (profiles of customers the
snapshot does not know) -> events since the snapshot -> hard rules -> scores -> ranking
policy (model score, or expected value) -> offers -> top-k -> exploration slots -> reasons
(true claims about the customer's state: recsys.engine.facts and .claims).
The gRPC service, the MLflow pyfunc, the CLI, the evaluation and the batch jobs all call
`answer`; nothing here knows which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from recsys.campaigns.outbound import Outbound, outbound_masks
from recsys.data.recent_events import RecentEvents
from recsys.engine.claims import GENERIC, Claim, ShownReason, claims, offer_claim
from recsys.engine.facts import DEFAULT_RECENT_DAYS, facts_of
from recsys.engine.overlay import apply_events
from recsys.engine.profile import apply_context
from recsys.engine.state import BatchState
from recsys.exploration.step import EXPLORE_TEXT, ExplorationRun, explore
from recsys.offers.arbitrate import NO_OFFER
from recsys.offers.model import Offer
from recsys.offers.placement import OfferRun, eligible_for, place
from recsys.offers.targeting import target_profile
from recsys.ranking.rank import rank
from recsys.rules import PAD_ID, combine, masked_topk, rule_masks

if TYPE_CHECKING:
    from recsys.engine.engine import Engine
    from recsys.settings import RankingConfig

MAX_REASONS = 2
MODEL_REASONS_WITH_OFFER = 1  # an offer item keeps the model's strongest reason after its own


__all__ = ["DEFAULT_REASON", "Answer", "NewEvents", "Request", "ShownReason", "Suggested", "answer"]
DEFAULT_REASON = GENERIC
EXPLORE_REASON = ShownReason(Claim.explore, EXPLORE_TEXT)  # an explored item's only reason


@dataclass(frozen=True)
class NewEvents:
    """A batch's events since the snapshot, and how the training weighs them."""

    rows: RecentEvents
    weights: Mapping[str, float]
    half_life_days: float | None
    until: datetime  # events stamped later are ignored (a channel clock may run ahead)


@dataclass(frozen=True)
class Request:
    """What a caller asks: customers, k and channel at a time, and what it knows beyond the
    snapshot (holdings, profiles of new customers, events, offers to place)."""

    customer_ids: Sequence[str]
    k: int
    at: datetime
    channel: str | None = None
    holdings: Sequence[Sequence[str] | None] | None = None
    contexts: Sequence[Mapping[str, str] | None] | None = None
    events: NewEvents | None = None
    exclude: Sequence[str] = ()
    offers: OfferRun | None = None
    reasons: int = MAX_REASONS  # reasons per item; 0 leaves them out (evaluation)
    ranking: RankingConfig | None = None  # None: by the model's score, nothing calibrated
    exploration: ExplorationRun | None = None  # None: no exploration slots
    # a campaign's contact: the channel's products, consent required, the contact policy
    outbound: Outbound | None = None
    recent_days: float = DEFAULT_RECENT_DAYS  # a purchase this recent is "recently opened"


class Suggested(NamedTuple):
    """One ranked product of an answer (internal id), with its reasons and offer."""

    product: int
    score: float
    rank: int
    reasons: tuple[ShownReason, ...]
    offer: Offer | None
    probability: float | None = None  # calibrated P(purchase), when the bundle has one
    value: float | None = None  # expected margin per sale
    lever: float | None = None  # marketing's lever on the product


@dataclass(frozen=True, eq=False)
class Answer:
    """Top-k per customer, in request order, with what the hard rules removed."""

    customer_ids: list[str]
    ids: np.ndarray  # int32 (b, k), PAD_ID padded
    scores: np.ndarray  # float32 (b, k)
    fallback: np.ndarray  # bool (b,): the fallback model answered
    known: np.ndarray  # bool (b,): the snapshot knows the customer
    masks: dict[str, np.ndarray]  # rule -> (b, n) allowed mask
    slots: np.ndarray  # int32 (b, k): index into `offers` of the offer that placed a slot
    offers: tuple[Offer, ...]
    reasons: list[list[tuple[ShownReason, ...]]]  # per row, per ranked item
    # (probability, value, lever) per ranked item, each (b, k); None when not known
    valued: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    policy: str = "propensity"  # what ordered the items (recsys.ranking.rank)
    explored: np.ndarray | None = None  # (b, k) bool: exploration placed the slot

    def items(self, row: int) -> list[Suggested]:
        """The ranked products of customer row `row`."""
        ids, scores, slots = self.ids[row], self.scores[row], self.slots[row]
        n = int((ids != PAD_ID).sum())
        why = self.reasons[row] if self.reasons else [()] * n
        found = [
            Suggested(p, s, i + 1, why[i], self.offers[j] if j != NO_OFFER else None)
            for i, (p, s, j) in enumerate(
                zip(ids[:n].tolist(), scores[:n].tolist(), slots[:n].tolist(), strict=True)
            )
        ]
        if self.valued is None:
            return found
        p, v, lever = (a[row, :n].tolist() for a in self.valued)
        return [
            s._replace(probability=p[i], value=v[i], lever=lever[i]) for i, s in enumerate(found)
        ]


def answer(engine: Engine, request: Request) -> Answer:
    """The pipeline: every step, in order, for all of the request's customers at once."""
    if request.k < 1:
        raise ValueError(f"k must be >= 1, got {request.k}")
    state = _state(engine, request)
    out = request.outbound
    masks = rule_masks(
        engine.catalog,
        state.customers,
        state.held,
        at=request.at.date(),
        channel=request.channel if out is None else None,
        excluded_categories=(
            engine.excluded_for(request.channel) if out is None else out.excluded_categories
        ),
        exclude_products=engine.exclude_mask(request.exclude),
        for_offers=out is not None,  # an outbound contact without consent is never allowed
        products=engine.product_masks(request.at.date(), request.channel) if out is None else None,
    )
    if out is not None:
        masks = outbound_masks(masks, out)
    allowed = combine(masks)
    scores, fallback = engine.scores(state)
    ranked = rank(engine, scores, fallback, request.ranking)
    scores = ranked.keys
    run = request.offers
    if run is None or not run.offers:
        ids, top = masked_topk(scores, allowed, request.k)
        slots = np.full(ids.shape, NO_OFFER, dtype=np.int32)
        offers: tuple[Offer, ...] = ()
    else:
        profile = target_profile(state.customer_ids, state.customers, state.features)
        eligible = eligible_for(run.offers, profile, state.customers, request.at.date())
        ids, top, slots = place(run, scores, allowed, eligible, state.customer_ids, request.k)
        offers = run.offers
    explored = None
    if request.exploration is not None and request.outbound is None:
        found = explore(engine, state, request.exploration, ids, top, slots, allowed)
        if found is not None:
            ids, top, explored = found.ids, found.scores, found.explored
    reasons = _reasons(engine, state, request, ids, fallback, slots, offers)
    if explored is not None and reasons:
        _explore_reasons(reasons, explored)
    return Answer(
        customer_ids=state.customer_ids,
        ids=ids,
        scores=top,
        fallback=fallback,
        known=state.rows >= 0,
        masks=masks,
        slots=slots,
        offers=offers,
        reasons=reasons,
        valued=ranked.at(ids),
        policy=ranked.policy,
        explored=explored,
    )


def _state(engine: Engine, request: Request) -> BatchState:
    """Snapshot rows with the caller's holdings, new customers' context, and new events."""
    state = engine.state(request.customer_ids, request.holdings)
    if request.contexts is not None and any(c for c in request.contexts):
        state = apply_context(state, request.contexts, today=request.at.date())
    new = request.events
    if new is not None and len(new.rows):
        state = apply_events(
            state,
            new.rows,
            product_map=engine.snapshot.product_map,
            repeatable=engine.catalog.repeatable,
            weights=new.weights,
            half_life_days=new.half_life_days,
            as_of=new.until,
        )
    return state


def _reasons(
    engine: Engine,
    state: BatchState,
    request: Request,
    ids: np.ndarray,
    fallback: np.ndarray,
    slots: np.ndarray,
    offers: tuple[Offer, ...],
) -> list[list[tuple[ShownReason, ...]]]:
    """Up to k true claims per ranked item (an offer's own first); never none when k > 0.

    The explainer may cite only products the state's facts support; `claims` names each
    for the fact and drops whatever else a model gives that is no fact about the customer.
    """
    k = request.reasons
    if k < 1:
        return []
    facts = facts_of(state, request.at, request.recent_days)
    citable = facts.citable
    product_ids = engine.product_ids
    names = engine.product_names
    out = []
    inputs = {
        fb: engine.model_features(engine.explainer(fb), state) for fb in set(fallback.tolist())
    }
    for row in range(len(ids)):
        chosen = ids[row][ids[row] != PAD_ID].tolist()
        history = state.history[row : row + 1]
        fell_back = bool(fallback[row])
        found = engine.explain(
            history, inputs[fell_back][row : row + 1], chosen, k, fell_back, citable[row]
        )
        row_facts = (facts.recent[row], facts.held[row], facts.looked[row])
        shown = [
            claims(why, p, row_facts, product_ids, names)[:k]
            for p, why in zip(chosen, found, strict=True)
        ]
        for i, j in enumerate(slots[row][: len(chosen)].tolist()):
            if j != NO_OFFER:
                own = offer_claim(offers[j].id, offers[j].name)
                shown[i] = (own, *shown[i][:MODEL_REASONS_WITH_OFFER])
        out.append(shown)
    return out


def _explore_reasons(reasons: list[list[tuple[ShownReason, ...]]], explored: np.ndarray) -> None:
    """An explored item says so: it is shown to learn whether it suits, not as a prediction."""
    for row, col in zip(*np.nonzero(explored), strict=True):
        if col < len(reasons[row]):
            reasons[row][col] = (EXPLORE_REASON,)
