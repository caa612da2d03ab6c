"""One chunk of a campaign through the request pipeline: pure given its inputs, so the
single-machine job and Spark's `mapInPandas` run exactly this."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from recsys.campaigns.outbound import Outbound, channel_products
from recsys.campaigns.policy import Contacts, PolicyBlock, Touches, policy_block
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine
from recsys.engine.request import Answer, NewEvents, Request
from recsys.offers.arbitrate import NO_OFFER
from recsys.offers.placement import OfferRun
from recsys.rules import PAD_ID
from recsys.settings import (
    ChannelConfig,
    ContactPolicy,
    InteractionWeights,
    RankingConfig,
    Settings,
)
from recsys.stores.tables import ID_LENGTH


@dataclass(frozen=True)
class Campaign:
    """What a campaign run asks: its name and run id, channel, k, moment and targeting."""

    name: str
    run_id: str
    channel: str
    k: int
    at: datetime
    segments: tuple[str, ...] = ()
    offer_id: str | None = None  # only this offer's product, to customers it is placed for


@dataclass(frozen=True)
class ScoringRules:
    """The settings one chunk's scoring reads (small and picklable: Spark ships it)."""

    channel: ChannelConfig
    policy: ContactPolicy
    weights: InteractionWeights
    ranking: RankingConfig | None = None  # as Recommend ranks (settings.ranking)

    @classmethod
    def of(cls, settings: Settings, channel: str) -> ScoringRules:
        """The rules of `channel` in `settings`."""
        return cls(
            settings.channels[channel], settings.contact_policy, settings.weights, settings.ranking
        )


@dataclass(frozen=True, eq=False)
class Scored:
    """A chunk's answer, the policy's block, and which rows become contacts."""

    answer: Answer
    block: PolicyBlock
    items: np.ndarray  # (b,) bool: the answer has at least one product
    sent: np.ndarray  # (b,) bool: a contact is asked for (items, and the offer placed if any)


def score_chunk(
    engine: Engine,
    campaign: Campaign,
    rules: ScoringRules,
    customer_ids: Sequence[str],
    *,
    events: RecentEvents | None,
    contacts: Contacts,
    touches: Touches,
    offers: OfferRun | None = None,
    reasons: int = 1,
) -> Scored:
    """The customers' top-k for the campaign: every hard rule, consent and the contact policy."""
    config = rules.channel
    shape = (len(customer_ids), len(engine.catalog))
    block = policy_block(
        rules.policy,
        contacts,
        touches,
        channel=campaign.channel,
        at=campaign.at,
        shape=shape,
    )
    outbound = Outbound(
        campaign.channel,
        channel_products(engine.snapshot.product_map.ids, config.products),
        tuple(config.excluded_categories),
        block.allowed(),
    )
    weights = rules.weights
    new = None
    if events is not None and len(events):
        new = NewEvents(events, weights.as_dict(), weights.half_life_days, campaign.at)
    exclude: list[str] = []
    if campaign.offer_id is not None and offers is not None:
        wanted = {o.product_id for o in offers.offers}
        exclude = [p for p in engine.snapshot.product_map.ids.tolist() if p not in wanted]
    request = Request(
        list(customer_ids),
        campaign.k,
        campaign.at,
        channel=campaign.channel,
        events=new,
        exclude=exclude,
        offers=offers,
        reasons=reasons,  # 0: no reasons (a benchmark's scoring-only figure)
        ranking=rules.ranking,
        outbound=outbound,
    )
    answer = engine.answer(request)
    items = (answer.ids != PAD_ID).any(axis=1)
    sent = items
    if campaign.offer_id is not None:
        sent = items & (answer.slots != NO_OFFER).any(axis=1)
    return Scored(answer, block, items, sent)


def request_id(run_id: str, customer_id: str) -> str:
    """A contact's request id: the run's and the customer's (a digest where too long)."""
    plain = f"{run_id}-{customer_id}"
    if len(plain) <= ID_LENGTH:
        return plain
    return f"{run_id}-h{hashlib.sha256(customer_id.encode()).hexdigest()[:40]}"


def targets(engine: Engine, segments: Sequence[str]) -> list[str]:
    """The snapshot's customers in snapshot order, of `segments` when given (each once)."""
    ids = engine.snapshot.customer_map.ids
    if not segments:
        return [str(c) for c in ids]
    keep = np.isin(engine.profiles.segment[: len(ids)].astype(str), list(segments))
    return [str(c) for c in ids[keep]]
