"""Sign in with an API key (marketing or admin), and sign out.

The key is checked by the server (AdminService.WhoAmI): the console only refuses roles it
has no pages for. Failed sign-ins are limited per client address.
"""

from __future__ import annotations

import math
from typing import Final

import grpc
from starlette.responses import Response
from starlette.routing import Route

from console.backend import BackendError
from console.sessions import User
from console.web import Page, page
from recsys.security.roles import ADMIN, MARKETING
from serving._proto.recsys.v1 import admin_pb2 as pb

SIGN_IN_ROLES: Final = (MARKETING, ADMIN)


def routes() -> list[Route]:
    """GET and POST /sign-in, POST /sign-out."""
    return [
        Route("/sign-in", show, methods=["GET"]),
        Route("/sign-in", submit, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]


@page()
async def show(p: Page) -> Response:
    """The sign-in form (signed-in users go on to the offers)."""
    if p.session.user is not None:
        return p.redirect("/offers")
    return _form(p, next_url=p.request.query_params.get("next", ""))


@page()
async def submit(p: Page) -> Response:
    """Check the pasted key with the server; a new session for a marketing or admin key."""
    address = p.request.client.host if p.request.client else "unknown"
    next_url = _local(p.field("next"))
    wait = p.console.limit.wait_s(address)
    if wait:
        minutes = math.ceil(wait / 60)
        error = f"Too many failed sign-ins from your address: try again in {minutes} minute(s)."
        return _form(p, next_url, error, status=429)
    key = p.field("api_key")
    if not key:
        return _form(p, next_url, "Paste your API key.", status=400)
    try:
        backend = p.console.backend
        me = await backend.call(key, backend.stubs.admin.WhoAmI, pb.WhoAmIRequest())
    except BackendError as exc:
        if exc.code == grpc.StatusCode.UNAUTHENTICATED:
            p.console.limit.failed(address)
            error = "This API key is not valid (unknown, revoked or mistyped)."
            return _form(p, next_url, error, status=401)
        return _form(p, next_url, f"The server could not check the key: {exc}", 503)
    problem = _refusal(me)
    if problem:
        p.console.limit.failed(address)
        return _form(p, next_url, problem, status=403)
    p.console.limit.succeeded(address)
    user = User(api_key=key, key_id=me.key_id, name=me.name, role=me.role)
    p.session = p.console.sessions.sign_in(p.session, user)
    return p.redirect(next_url or "/offers")


@page()
async def sign_out(p: Page) -> Response:
    """End the session."""
    p.console.sessions.end(p.session)
    p.session = p.console.sessions.new()
    return p.redirect("/sign-in", "You are signed out.")


def _refusal(me: pb.WhoAmIResponse) -> str:
    """Why this key may not sign in ('' when it may)."""
    if not me.auth_required:
        return (
            "The server does not check API keys (RECSYS_AUTH_REQUIRED is off), so it cannot "
            "tell who you are: the console signs in only against a server that checks keys."
        )
    if me.role not in SIGN_IN_ROLES:
        return (
            f"The key {me.name!r} has role {me.role}: the console is for marketing and admin "
            "keys. Ask an administrator for a marketing key."
        )
    return ""


def _form(p: Page, next_url: str, error: str = "", status: int = 200) -> Response:
    return p.render("sign_in.html", code=status, error=error, next=next_url)


def _local(url: str) -> str:
    """Only a path on this console (no open redirect to another site)."""
    return url if url.startswith("/") and not url.startswith("//") else ""
