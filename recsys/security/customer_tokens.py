"""Customer-bound tokens: a channel's backend vouches that the person using the app is X.

With RECSYS_CUSTOMER_TOKENS=required, Recommend for customer X needs a token naming X, so a
channel key alone can no longer read any customer's suggestions (and the holdings their reasons
name). A token is a JWT signed with HMAC-SHA256 under a key the bank's backend and the server
share: `{"alg": "HS256", "typ": "JWT"}` . `{"sub": customer id, "exp": unix seconds}` . signature.
It is short-lived: one that expires later than `max_age_s` from now is refused as well.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Final

HEADER: Final = {"alg": "HS256", "typ": "JWT"}


class TokenRefused(ValueError):
    """Why a customer token does not let the call go on (never quotes the token)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(customer_id: str, expires_at: int, key: bytes) -> str:
    """A token naming `customer_id`, valid until `expires_at` (unix seconds)."""
    head = _b64(json.dumps(HEADER, separators=(",", ":")).encode())
    claims = {"sub": customer_id, "exp": int(expires_at)}
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def verified_customer(token: str, key: bytes, *, now: float, max_age_s: float) -> str:
    """The customer a token names, once its signature and lifetime check out; else
    TokenRefused saying which check failed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRefused("customer token is not a JWT (header.claims.signature)")
    head, body, signature = parts
    expected = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    try:
        given = _unb64(signature)
        header, claims = json.loads(_unb64(head)), json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise TokenRefused("customer token is malformed") from exc
    if not hmac.compare_digest(given, expected):
        raise TokenRefused("customer token has a wrong signature")
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenRefused("customer token must be signed with HS256")
    if not isinstance(claims, dict):
        raise TokenRefused("customer token claims must be an object")
    expires, customer = claims.get("exp"), claims.get("sub")
    if not isinstance(expires, int | float) or not isinstance(customer, str) or not customer:
        raise TokenRefused("customer token needs 'sub' (the customer id) and 'exp'")
    if expires <= now:
        raise TokenRefused("customer token has expired")
    if expires > now + max_age_s:
        raise TokenRefused(f"customer token lives longer than {max_age_s:g} s: not short-lived")
    return customer
