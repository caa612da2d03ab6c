"""The offers page: every offer with its status, window, channels, caps and performance,
filtered by status and channel; and pause, resume and end, each after a confirmation."""

from __future__ import annotations

import asyncio
from typing import Final

from starlette.responses import Response
from starlette.routing import Route

from console.formatting import STATUS_VALUES
from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import admin_pb2 as apb
from serving._proto.recsys.v1 import offers_pb2 as pb

ROLES: Final = (MARKETING, ADMIN)
MOVES: Final = {  # action -> (verb shown, statuses it applies to)
    "pause": ("Pause", (pb.OFFER_STATUS_ACTIVE,)),
    "resume": ("Resume", (pb.OFFER_STATUS_DRAFT, pb.OFFER_STATUS_PAUSED)),
    "end": ("End", (pb.OFFER_STATUS_DRAFT, pb.OFFER_STATUS_ACTIVE, pb.OFFER_STATUS_PAUSED)),
}
EXPLAIN: Final = {
    "pause": "It is no longer served until it is resumed.",
    "resume": "It is served again, in its window, to its target.",
    "end": "It is never served again: ending is final.",
}


def routes() -> list[Route]:
    """GET /offers, and GET (confirm) / POST (do) /offers/{id}/{pause|resume|end}."""
    return [
        Route("/offers", list_offers, methods=["GET"]),
        Route("/offers/{offer_id}/{action:str}", confirm, methods=["GET"]),
        Route("/offers/{offer_id}/{action:str}", move, methods=["POST"]),
    ]


@page(*ROLES)
async def list_offers(p: Page) -> Response:
    """The list, with its filters; the offers' stats come with them (one read)."""
    stubs = p.console.backend.stubs
    status = p.request.query_params.get("status", "")
    channel = p.request.query_params.get("channel", "")
    wanted = [STATUS_VALUES[status]] if status in STATUS_VALUES else []
    listed, catalog = await asyncio.gather(
        p.call(stubs.offers.ListOffers, pb.ListOffersRequest(statuses=wanted, include_stats=True)),
        p.call(stubs.admin.GetCatalog, apb.GetCatalogRequest()),
    )
    rows = [
        (o, stats)
        for o, stats in zip(listed.offers, listed.stats, strict=True)
        if not channel or not o.channels or channel in o.channels
    ]
    return p.render(
        "offers.html",
        title="Offers",
        rows=rows,
        statuses=list(STATUS_VALUES),
        channels=list(catalog.channels),
        status=status,
        channel=channel,
        moves=MOVES,
    )


@page(*ROLES)
async def confirm(p: Page) -> Response:
    """ "Pause offer X?" with the button that does it, and a way back."""
    action = p.request.path_params["action"]
    if action not in MOVES:
        return p.render("error.html", code=404, title="Not found", message="No such page.")
    offer = await _offer(p)
    return p.render(
        "confirm.html",
        title=f"{MOVES[action][0]} offer {offer.name}",
        offer=offer,
        action=action,
        verb=MOVES[action][0],
        explain=EXPLAIN[action],
    )


@page(*ROLES)
async def move(p: Page) -> Response:
    """Pause, resume or end the offer at the revision the user confirmed."""
    action = p.request.path_params["action"]
    if action not in MOVES:
        return p.render("error.html", code=404, title="Not found", message="No such page.")
    offers = p.console.backend.stubs.offers
    call = {"pause": offers.PauseOffer, "resume": offers.ResumeOffer, "end": offers.EndOffer}
    request = pb.OfferStatusRequest(offer_ref=p.request.path_params["offer_id"])
    if p.field("revision").isdigit():
        request.expected_revision = int(p.field("revision"))
    changed = await p.call(call[action], request)
    done = {"pause": "paused", "resume": "resumed", "end": "ended"}[action]
    notes = " ".join(changed.warnings)
    return p.redirect(f"/offers/{changed.offer.id}", f"Offer {changed.offer.name} {done}. {notes}")


async def _offer(p: Page) -> pb.Offer:
    found = await p.call(
        p.console.backend.stubs.offers.GetOffer,
        pb.GetOfferRequest(offer_ref=p.request.path_params["offer_id"]),
    )
    return found.offer
