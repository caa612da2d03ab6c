"""`recsys campaign run` on one machine: every targeted customer, chunk by chunk, through the
request pipeline; contacts reserved under the contact policy, written to a file and logged.

Per chunk: the customers' events since the snapshot and their contact history are read, the
pipeline answers (hard rules, consent, the contact policy, live offers of the channel), the
contacts are reserved in the store (a contact another process made meanwhile may refuse
some), then written to the file and the decision log. Memory is bounded by the chunk size.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from batch.files import ContactWriter
from batch.scoring import Campaign, Scored, ScoringRules, request_id, score_chunk, targets
from recsys.campaigns.output import contact_frame, decision_rows
from recsys.campaigns.summary import Tally
from recsys.data.recent_events import RecentEvents
from recsys.engine.engine import Engine
from recsys.offers.placement import OfferRun
from recsys.settings import Settings
from recsys.stores.base import EventStore
from recsys.stores.sql_contacts import ContactItem, ContactStore, Message
from recsys.stores.sql_decisions import DecisionStore
from recsys.stores.sql_offers import OfferStore

EVENT_IDS_PER_READ = 2_000
Progress = Callable[[int], None]  # customers done in the last chunk


class CampaignError(ValueError):
    """A campaign that cannot run as asked (unknown channel, offer not live...)."""


@dataclass(frozen=True)
class Stores:
    """Where a campaign reads and records: contacts always; the others when configured."""

    contacts: ContactStore
    events: EventStore | None = None
    offers: OfferStore | None = None
    decisions: DecisionStore | None = None


@dataclass(frozen=True)
class CampaignResult:
    """What a run did: its id, the file, the rows written and the summary."""

    run_id: str
    path: Path
    rows: int
    tally: Tally


def new_run_id() -> str:
    """A fresh run id (12 hex characters)."""
    return uuid.uuid4().hex[:12]


def check_campaign(campaign: Campaign, settings: Settings) -> None:
    """CampaignError naming what is wrong with the campaign's channel or k."""
    config = settings.channels.get(campaign.channel)
    outbound = [c for c, v in settings.channels.items() if v.outbound or c == "call_center"]
    if config is None or campaign.channel not in outbound:
        raise CampaignError(
            f"--channel: {campaign.channel!r} is not outbound; use one of {outbound}"
        )
    if not 1 <= campaign.k <= settings.limits.max_k:
        raise CampaignError(f"--k: must be 1..{settings.limits.max_k}, got {campaign.k}")


def run_campaign(
    engine: Engine,
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    out: Path,
    *,
    model_version: str,
    customer_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> CampaignResult:
    """Score, reserve, write and log the campaign's contacts; the summary of who was reached."""
    check_campaign(campaign, settings)
    targeted = (
        list(dict.fromkeys(customer_ids))
        if customer_ids is not None
        else targets(engine, campaign.segments)
    )
    offers = _offer_run(engine, campaign, settings, stores)
    writer = ContactWriter(out)
    tally = Tally()
    try:
        for start in range(0, len(targeted), settings.campaign_chunk_size):
            chunk = targeted[start : start + settings.campaign_chunk_size]
            scored = _score(engine, campaign, settings, stores, chunk, offers)
            reached = _record(engine, campaign, settings, stores, writer, scored, model_version)
            tally.add(
                scored.answer.masks,
                scored.block,
                items=scored.items,
                sent=scored.sent,
                reached=reached,
            )
            if progress is not None:
                progress(len(chunk))
    finally:
        writer.close()
    return CampaignResult(campaign.run_id, out, writer.rows, tally)


def _score(
    engine: Engine,
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    chunk: list[str],
    offers: OfferRun | None,
) -> Scored:
    """One chunk's answer, from its stored events and contact history."""
    index = engine.snapshot.product_map
    contacts, touches = stores.contacts.history(
        chunk,
        lambda ids: index.to_internal(ids, strict=False),
        settings.contact_policy,
        campaign.at,
    )
    events = read_recent(stores.events, chunk, engine.snapshot.as_of)
    return score_chunk(
        engine,
        campaign,
        ScoringRules.of(settings, campaign.channel),
        chunk,
        events=events,
        contacts=contacts,
        touches=touches,
        offers=offers,
    )


def _record(
    engine: Engine,
    campaign: Campaign,
    settings: Settings,
    stores: Stores,
    writer: ContactWriter,
    scored: Scored,
    model_version: str,
) -> np.ndarray:
    """Reserve the chunk's contacts, write and log those recorded; (b,) bool reached."""
    answer = scored.answer
    rows = np.flatnonzero(scored.sent)
    product_ids = engine.snapshot.product_map.ids.astype(str)
    ids = [request_id(campaign.run_id, answer.customer_ids[r]) for r in rows.tolist()]
    messages = [
        Message(
            answer.customer_ids[r],
            rid,
            tuple(
                ContactItem(str(product_ids[s.product]), s.rank, s.offer.id if s.offer else None)
                for s in answer.items(r)
            ),
        )
        for r, rid in zip(rows.tolist(), ids, strict=True)
    ]
    accepted = stores.contacts.reserve(
        campaign=campaign.name,
        run_id=campaign.run_id,
        channel=campaign.channel,
        messages=messages,
        policy=settings.contact_policy,
        now=campaign.at,
    )
    kept = rows[accepted]
    kept_ids = [rid for rid, ok in zip(ids, accepted.tolist(), strict=True) if ok]
    writer.write(
        contact_frame(
            answer, kept, kept_ids, product_ids, campaign=campaign.name, channel=campaign.channel
        )
    )
    if stores.decisions is not None and len(kept):
        stores.decisions.append_rows(
            decision_rows(
                answer,
                kept,
                kept_ids,
                product_ids,
                engine.product_names,
                channel=campaign.channel,
                model_version=model_version,
                at=campaign.at,
            )
        )
    reached = np.zeros(len(answer.customer_ids), dtype=bool)
    reached[kept] = True
    return reached


def read_recent(store: EventStore | None, ids: list[str], since: datetime) -> RecentEvents | None:
    """The customers' stored events since the snapshot (read in slices of ids)."""
    if store is None:
        return None
    parts = [
        store.recent(ids[i : i + EVENT_IDS_PER_READ], since)
        for i in range(0, len(ids), EVENT_IDS_PER_READ)
    ]
    return RecentEvents(
        customer_id=[c for p in parts for c in p.customer_id],
        product_id=[c for p in parts for c in p.product_id],
        event=[c for p in parts for c in p.event],
        micros=[c for p in parts for c in p.micros],
    )


def _offer_run(
    engine: Engine, campaign: Campaign, settings: Settings, stores: Stores
) -> OfferRun | None:
    """The live offers of the campaign's channel (only --offer's when given), caps enforced
    through the offer store like Recommend's."""
    if stores.offers is None:
        if campaign.offer_id is not None:
            raise CampaignError("--offer: no offer store configured")
        return None
    from serving.offers.book import OfferBook
    from serving.offers.placer import OfferPlacer

    book = OfferBook(stores.offers, clock=lambda: campaign.at)
    book.refresh()
    placer = OfferPlacer(book, stores.offers, hold=timedelta(minutes=settings.offer_hold_minutes))
    run = placer.run(engine, channel=campaign.channel, request_id=campaign.run_id, now=campaign.at)
    if campaign.offer_id is None:
        return run
    wanted = stores.offers.find(campaign.offer_id)
    mine = [o for o in (run.offers if run else ()) if o.id == wanted.id]
    if not mine:
        raise CampaignError(
            f"--offer: offer {campaign.offer_id!r} is not live in {campaign.channel} at "
            f"{campaign.at.isoformat()} (status {wanted.status})"
        )
    index = engine.snapshot.product_map.to_internal([mine[0].product_id], strict=False)
    return OfferRun.of(mine, index, run.slots)  # type: ignore[union-attr]
