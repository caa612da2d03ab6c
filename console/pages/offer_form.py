"""Create and edit an offer: every field, every problem shown at once beside its field, and
a reach preview (PreviewOffer: the server's own rule functions) before saving."""

from __future__ import annotations

from typing import Any, Final

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from starlette.responses import Response
from starlette.routing import Route

from console.backend import BackendError
from console.forms import OfferForm, changed_paths, form_of, offer_message, read_form
from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import admin_pb2 as apb
from serving._proto.recsys.v1 import offers_pb2 as pb

ROLES: Final = (MARKETING, ADMIN)
BLANK: Final = {"action": "pin", "pin": "1", "volume_event": "impression", "priority": "0"}


def routes() -> list[Route]:
    """New, edit and preview."""
    return [
        Route("/offers/new", new, methods=["GET"]),
        Route("/offers/new", create, methods=["POST"]),
        Route("/offers/preview", preview, methods=["POST"]),
        Route("/offers/{offer_id}/edit", edit, methods=["GET"]),
        Route("/offers/{offer_id}/edit", update, methods=["POST"]),
    ]


@page(*ROLES)
async def new(p: Page) -> Response:
    """An empty form (a pin at slot 1, as a start)."""
    f = read_form({}, lambda _name: [])
    f.values.update(BLANK)
    return await _show(p, f)


@page(*ROLES)
async def create(p: Page) -> Response:
    """Create the offer, or show the form again with every problem."""
    f = read_form(p.form or {}, p.form.getlist if p.form else lambda _n: [])
    message = offer_message(f)
    if not f.problems:
        request = pb.CreateOfferRequest(offer=message)
        try:
            made = await p.call(p.console.backend.stubs.offers.CreateOffer, request)
        except BackendError as exc:
            return await _refused(p, f, exc)
        return p.redirect(f"/offers/{made.offer.id}", _saved("created", made))
    await _preview(p, f, message)  # the server's problems too, to show them all together
    return await _show(p, f, status=400)


@page(*ROLES)
async def preview(p: Page) -> Response:
    """The reach of the offer as filled in (a fragment for htmx, else the whole page)."""
    f = read_form(p.form or {}, p.form.getlist if p.form else lambda _n: [])
    message = offer_message(f)
    if f.values["offer_id"] and not f.values["customer_ids"]:
        current = await _get(p, f.values["offer_id"])
        if current.target.has_customer_list:
            f.add("customer_ids", "paste the customer list to preview the reach of this offer")
    found = await _preview(p, f, message)
    reach = found.reach if found is not None and not f.problems else None
    warnings = list(found.warnings) if reach is not None else []
    return await _show(p, f, reach=reach, warnings=warnings, status=200 if reach else 400)


@page(*ROLES)
async def edit(p: Page) -> Response:
    """The form filled with the stored offer."""
    current = await _get(p, p.request.path_params["offer_id"])
    return await _show(p, form_of(current), current=current)


@page(*ROLES)
async def update(p: Page) -> Response:
    """Change the fields that differ from the stored offer (at the revision edited)."""
    f = read_form(p.form or {}, p.form.getlist if p.form else lambda _n: [])
    current = await _get(p, p.request.path_params["offer_id"])
    f.values["offer_id"] = current.id
    message = offer_message(f)
    if f.problems:
        return await _show(p, f, current=current, status=400)
    paths = changed_paths(current, message, keep_customer_list=not f.values["customer_ids"])
    if not paths:
        return p.redirect(f"/offers/{current.id}", "Nothing changed.")
    request = pb.UpdateOfferRequest(
        offer_ref=current.id, offer=message, update_mask=FieldMask(paths=paths)
    )
    if f.values["revision"].isdigit():
        request.expected_revision = int(f.values["revision"])
    try:
        changed = await p.call(p.console.backend.stubs.offers.UpdateOffer, request)
    except BackendError as exc:
        return await _refused(p, f, exc, current=current)
    return p.redirect(f"/offers/{current.id}", _saved("saved", changed))


async def _preview(p: Page, f: OfferForm, message: pb.Offer) -> pb.OfferPreview | None:
    """PreviewOffer (it stores nothing); its problems go into the form (then None)."""
    try:
        return await p.call(
            p.console.backend.stubs.offers.PreviewOffer, pb.CreateOfferRequest(offer=message)
        )
    except BackendError as exc:
        if exc.code != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        f.add_server_lines(exc.lines)
        return None


async def _refused(p: Page, f: OfferForm, exc: BackendError, **values: Any) -> Response:
    """A refused save: the form again with the server's problems beside their fields."""
    if exc.code == grpc.StatusCode.INVALID_ARGUMENT:
        f.add_server_lines(exc.lines)
    elif exc.code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION):
        f.add_server_lines(exc.lines if exc.message.startswith("name:") else [exc.message])
    else:
        raise exc
    return await _show(p, f, status=400, **values)


async def _show(p: Page, f: OfferForm, *, status: int = 200, **values: Any) -> Response:
    catalog = await p.call(p.console.backend.stubs.admin.GetCatalog, apb.GetCatalogRequest())
    editing = bool(f.values["offer_id"])
    values.setdefault("current", None)
    fragment = p.request.headers.get("hx-request") == "true"
    return p.render(
        "offer_form_part.html" if fragment else "offer_form.html",
        code=200 if fragment else status,  # htmx swaps only what it gets with a 2xx
        title="Edit offer" if editing else "New offer",
        form=f,
        v=f.values,
        problems=f.problems,
        catalog=catalog,
        editing=editing,
        reach=values.pop("reach", None),
        warnings=values.pop("warnings", []),
        **values,
    )


async def _get(p: Page, ref: str) -> pb.Offer:
    found = await p.call(p.console.backend.stubs.offers.GetOffer, pb.GetOfferRequest(offer_ref=ref))
    return found.offer


def _saved(verb: str, change: pb.OfferChange) -> str:
    notes = "".join(f" Note: {w}." for w in change.warnings)
    return f"Offer {change.offer.name} {verb}.{notes}"
