"""One offer: its settings, stats per channel, per-day charts of slots served, impressions,
clicks and purchases, the use of its caps, and its audit history (fields before and after)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import date
from typing import Any, Final

from starlette.responses import Response
from starlette.routing import Route

from console.charts import bar_chart, daily_series
from console.pages.offers import MOVES
from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import offers_pb2 as pb

ROLES: Final = (MARKETING, ADMIN)
COUNTS: Final = ("served", "impressions", "clicks", "purchases")
LABELS: Final = {
    "served": "slots served",
    "impressions": "impressions",
    "clicks": "clicks",
    "purchases": "purchases",
}


def routes() -> list[Route]:
    """GET /offers/{id}."""
    return [Route("/offers/{offer_id}", show, methods=["GET"])]


@page(*ROLES)
async def show(p: Page) -> Response:
    """The offer's page."""
    offers = p.console.backend.stubs.offers
    ref = p.request.path_params["offer_id"]
    found, stats = await asyncio.gather(
        p.call(offers.GetOffer, pb.GetOfferRequest(offer_ref=ref, include_history=True)),
        p.call(offers.GetOfferStats, pb.GetOfferStatsRequest(offer_ref=ref, include_days=True)),
    )
    rows = [(date.fromisoformat(d.day), {n: getattr(d, n) for n in COUNTS}) for d in stats.days]
    series = daily_series(rows, COUNTS)
    charts = [(s, bar_chart(replace(s, label=LABELS[s.label]))) for s in series]
    offer = found.offer
    return p.render(
        "offer.html",
        title=f"Offer {offer.name}",
        offer=offer,
        stats=stats,
        charts=charts,
        days=stats.days,
        caps=stats.caps,
        history=[_entry(e) for e in reversed(found.history)],  # newest first
        moves=[(a, verb) for a, (verb, applies) in MOVES.items() if offer.status in applies],
    )


def _entry(e: pb.OfferAuditEntry) -> dict[str, Any]:
    return {
        "action": e.action,
        "actor": e.actor,
        "time": e.time,
        "changes": [(c.field, _value(c.before), _value(c.after)) for c in e.changes],
    }


def _value(raw: str) -> str:
    """A JSON value of the audit as a person reads it ('' stays empty)."""
    if not raw:
        return ""
    value = json.loads(raw)
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(json.dumps(v))}" for k, v in value.items() if v is not None)
    return str(value)
