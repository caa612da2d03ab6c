"""What every page shares: its session, the CSRF check, role checks, rendering, calls.

`page(*roles)` turns `async def handler(page: Page) -> Response` into a Starlette endpoint:
it finds the visitor's session (making one when there is none), refuses a POST whose form
lacks the session's CSRF token (403), sends the signed-out to the sign-in page, refuses a
role the page is not for (403), and sets the session cookie on the answer.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import grpc
import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from console.backend import Backend, BackendError
from console.sessions import COOKIE, Session, SessionStore, User, same_token
from console.throttle import SignInLimit
from recsys.settings import ConsoleSettings

CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
STATUS_OF: Final = {  # a refused or failed call -> the page's HTTP status
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
Handler = Callable[["Page"], Awaitable[Response]]


@dataclass
class Console:
    """The console's parts, shared by every page (app.state.console)."""

    backend: Backend
    sessions: SessionStore
    limit: SignInLimit
    templates: jinja2.Environment
    settings: ConsoleSettings
    secure_cookie: bool  # served over TLS
    nav: tuple[tuple[str, str, tuple[str, ...]], ...]  # (path, label, roles) of the menu


@dataclass
class Page:
    """One request as a handler sees it."""

    request: Request
    console: Console
    session: Session
    form: FormData | None

    @property
    def user(self) -> User:
        """The signed-in user (pages for roles are only run with one)."""
        assert self.session.user is not None
        return self.session.user

    async def call(self, method: Callable[..., Awaitable[Any]], message: Any) -> Any:
        """A call with the user's key; a key the server no longer takes signs the user out."""
        try:
            return await self.console.backend.call(self.user.api_key, method, message)
        except BackendError as exc:
            if exc.code == grpc.StatusCode.UNAUTHENTICATED:
                raise SignedOut(
                    f"The server no longer accepts your API key: {exc.message}"
                ) from exc
            raise

    def render(self, template: str, code: int = 200, **values: Any) -> HTMLResponse:
        """`template` with `values` and what every page shows (user, menu, notice, token)."""
        body = self.console.templates.get_template(template).render(
            user=self.session.user,
            csrf=self.session.csrf,
            notice=self.session.take_notice(),
            nav=self.menu(),
            path=self.request.url.path,
            **values,
        )
        return HTMLResponse(body, status_code=code)

    def menu(self) -> list[tuple[str, str]]:
        """The menu entries this user's role may open."""
        role = self.session.user.role if self.session.user else None
        return [(path, label) for path, label, roles in self.console.nav if role in roles]

    def redirect(self, url: str, notice: str = "") -> RedirectResponse:
        """See other: `url`, with a notice for the page it leads to."""
        if notice:
            self.session.notice = notice
        return RedirectResponse(url, status_code=303)

    def field(self, name: str) -> str:
        """A form field's text, trimmed ('' when absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else ""


class SignedOut(Exception):
    """The user's key stopped working: end the session, say why on the sign-in page."""


def page(*roles: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """An endpoint running `handler` for users of `roles` (none given: anyone)."""

    def wrap(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            session, expired = console.sessions.find(request.cookies.get(COOKIE))
            form = None
            if request.method == "POST":
                form = await request.form()
                sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
                if session is None or not same_token(_text(sent), session.csrf):
                    return _forbidden(console, "The form's CSRF token is missing or wrong.")
            if session is None:
                session = console.sessions.new()
            current = Page(request, console, session, form)
            response = await _run(handler, current, roles, expired)
            return with_cookie(response, console, current.session)  # a new one after sign-in

        return endpoint

    return wrap


async def _run(handler: Handler, p: Page, roles: tuple[str, ...], expired: bool) -> Response:
    if roles and p.session.user is None:
        notice = "Your session ended after a time without activity." if expired else ""
        return p.redirect(sign_in_url(p.request), notice)
    if roles and p.user.role not in roles:
        message = f"This page is for role {' or '.join(roles)}; your key has role {p.user.role}."
        return p.render("error.html", code=403, title="Not allowed", message=message)
    try:
        return await handler(p)
    except SignedOut as exc:
        p.console.sessions.end(p.session)
        p.session = p.console.sessions.new()
        return p.redirect("/sign-in", str(exc))
    except BackendError as exc:
        status = STATUS_OF.get(exc.code, 502)
        title = "The server refused" if status < 500 else "The server could not answer"
        return p.render("error.html", code=status, title=title, message=str(exc))


def sign_in_url(request: Request) -> str:
    """The sign-in page, coming back to this page (GETs only) after."""
    if request.method != "GET":
        return "/sign-in"
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/sign-in?next={quote(target, safe='')}"


def with_cookie(response: Response, console: Console, session: Session) -> Response:
    """The session cookie on `response`: HttpOnly, SameSite=Strict, Secure under TLS."""
    response.set_cookie(
        COOKIE,
        console.sessions.cookie_value(session),
        httponly=True,
        samesite="strict",
        secure=console.secure_cookie,
        path="/",
    )
    return response


def _forbidden(console: Console, message: str) -> Response:
    body = console.templates.get_template("error.html").render(
        user=None, nav=[], csrf="", notice="", path="", title="Forbidden", message=message
    )
    return HTMLResponse(body, status_code=403)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
