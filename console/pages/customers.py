"""'Why was this shown?' (admin): a customer's logged decisions, each with its time, channel,
model version, items with reasons and offers, and the products the hard rules removed."""

from __future__ import annotations

from typing import Final

from starlette.responses import Response
from starlette.routing import Route

from console.web import Page, page
from recsys.security.roles import ADMIN
from serving._proto.recsys.v1 import admin_pb2 as pb

SHOWN: Final = 50  # newest decisions on the page


def routes() -> list[Route]:
    """GET /customers[?customer_id=...]."""
    return [Route("/customers", show, methods=["GET"])]


@page(ADMIN)
async def show(p: Page) -> Response:
    """The look-up form, and the customer's decisions when one is asked for."""
    customer = p.request.query_params.get("customer_id", "").strip()
    found = None
    if customer:
        found = await p.call(
            p.console.backend.stubs.admin.ListDecisions,
            pb.ListDecisionsRequest(customer_id=customer, limit=SHOWN),
        )
    return p.render(
        "customers.html", title="Why was this shown?", customer=customer, found=found, shown=SHOWN
    )
