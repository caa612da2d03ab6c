"""Server-side sessions: the cookie holds only a signed random id; the API key stays here.

A session is made for every visitor (it carries the CSRF token of the sign-in form), gets a
new id when its user signs in (no fixation), and ends after `idle_s` without a request, on
sign out, or when the store is full and it is the longest idle.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

COOKIE: Final = "recsys_console"


@dataclass
class User:
    """Who is signed in: their key (sent on every call) and what the server said of it."""

    api_key: str = field(repr=False)
    key_id: str
    name: str
    role: str


@dataclass
class Session:
    """One visitor's state on the console's side."""

    id: str = field(repr=False)
    csrf: str = field(repr=False)
    last_seen: float
    user: User | None = None
    notice: str = ""  # a one-time message for the next page (e.g. "offer paused")

    def take_notice(self) -> str:
        """The pending notice, cleared."""
        text, self.notice = self.notice, ""
        return text


class SessionStore:
    """Sessions in memory, by id; a cookie value is `<id>.<signature>`."""

    def __init__(
        self,
        idle_s: float,
        max_sessions: int,
        *,
        secret: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.max_sessions = max_sessions
        self._secret = secret or secrets.token_bytes(32)
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()  # least recently seen first

    def new(self) -> Session:
        """A fresh anonymous session."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._clock())
        self._keep(session)
        return session

    def find(self, cookie: str | None) -> tuple[Session | None, bool]:
        """(the live session of a cookie value or None, whether one expired just now)."""
        sid = self._verified(cookie)
        if sid is None:
            return None, False
        session = self._sessions.get(sid)
        if session is None:
            return None, False
        now = self._clock()
        if now - session.last_seen > self.idle_s:
            del self._sessions[sid]
            return None, session.user is not None
        session.last_seen = now
        self._sessions.move_to_end(sid)
        return session, False

    def sign_in(self, old: Session, user: User) -> Session:
        """A new session (new id and CSRF token) for `user`; `old` ends."""
        self.end(old)
        session = self.new()
        session.user = user
        return session

    def end(self, session: Session) -> None:
        """Forget `session` (sign out)."""
        self._sessions.pop(session.id, None)

    def cookie_value(self, session: Session) -> str:
        """What the cookie holds: the id and its signature."""
        return f"{session.id}.{self._sign(session.id)}"

    def __len__(self) -> int:
        return len(self._sessions)

    def _keep(self, session: Session) -> None:
        while len(self._sessions) >= self.max_sessions:
            self._sessions.popitem(last=False)  # the longest idle goes
        self._sessions[session.id] = session

    def _sign(self, sid: str) -> str:
        mac = hmac.new(self._secret, sid.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def _verified(self, cookie: str | None) -> str | None:
        sid, sep, signature = (cookie or "").rpartition(".")
        if not sep or not sid:
            return None
        return sid if hmac.compare_digest(signature.encode(), self._sign(sid).encode()) else None


def same_token(sent: str | None, expected: str) -> bool:
    """Whether a form's CSRF token is the session's (constant time)."""
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())
