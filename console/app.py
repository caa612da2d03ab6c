"""The console's Starlette application: its pages, static files and security headers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import jinja2
from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console import formatting
from console.backend import Backend
from console.pages import (
    customers,
    experiment_conclude,
    experiments,
    models,
    offer_form,
    offer_page,
    offers,
    sign_in,
)
from console.sessions import SessionStore
from console.throttle import SignInLimit
from console.web import Console
from recsys.security.roles import ADMIN, MARKETING
from recsys.settings import ConsoleSettings

HERE: Final = Path(__file__).parent
BOTH: Final = (MARKETING, ADMIN)
NAV: Final = (
    ("/offers", "Offers", BOTH),
    ("/offers/new", "New offer", BOTH),
    ("/experiments", "Experiments", BOTH),
    ("/customers", "Why was this shown?", (ADMIN,)),
    ("/models", "Models", BOTH),
)
# no inline script or style anywhere: htmx is told not to add its indicator style (base.html)
HEADERS: Final = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
)


def build_app(backend: Backend, settings: ConsoleSettings, *, secure: bool = False) -> Starlette:
    """The console over `backend` (opened on the app's loop at start-up, closed at the end)."""
    console = Console(
        backend=backend,
        sessions=SessionStore(settings.idle_minutes * 60, settings.max_sessions),
        limit=SignInLimit(settings.sign_in_failures, settings.sign_in_window_minutes * 60),
        templates=templates(),
        settings=settings,
        secure_cookie=secure,
        nav=NAV,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        backend.open()
        try:
            yield
        finally:
            await backend.close()

    app = Starlette(routes=routes(), lifespan=lifespan)
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    return app


def routes() -> list[BaseRoute]:
    """Every page's routes, and the static files."""
    return [
        Route("/", lambda _request: RedirectResponse("/offers", status_code=303)),
        *sign_in.routes(),
        *offer_form.routes(),  # /offers/new and /offers/{id}/edit before the patterns below
        *offers.routes(),
        *offer_page.routes(),
        *experiments.routes(),
        *experiment_conclude.routes(),
        *customers.routes(),
        *models.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


def templates() -> jinja2.Environment:
    """The pages' templates (autoescaped), with the formatting filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(formatting.FILTERS)
    return env


class SecurityHeaders:
    """Adds the security headers to every answer (pages and static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in have]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
