"""API keys: generation, the `rk_<id>_<secret>` format, salted hashing, constant-time checks.

Only the public id, a random salt and HMAC-SHA256(salt, secret) are ever stored. The secret
is 256 random bits, so a fast keyed hash is enough: slow password hashes (pbkdf2, scrypt)
protect guessable secrets and would cost every uncached call milliseconds of CPU.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

PREFIX: Final = "rk"
ID_BYTES: Final = 6  # 12 hex chars: public, only has to be unique among a bank's clients
SECRET_BYTES: Final = 32
SALT_BYTES: Final = 16
NAME_MAX: Final = 200  # api_keys.name
_KEY = re.compile(r"rk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")  # token_urlsafe(32) is 43 chars
_NAME = re.compile(r"[^\x00-\x1f\x7f]+")


class MalformedKey(ValueError):
    """The text is not an API key of this service (the message never repeats the text)."""


@dataclass(frozen=True)
class ParsedKey:
    """A presented key split into its public id and its secret."""

    key_id: str
    secret: str = ""

    def __repr__(self) -> str:  # the secret must not reach logs or tracebacks
        return f"ParsedKey(key_id={self.key_id!r}, secret=<hidden>)"


@dataclass(frozen=True, repr=False)
class NewKey:
    """A freshly generated key: what to store (id, salt, hash) and the text to hand out once."""

    key_id: str
    secret: str
    salt: str
    hash: str

    @property
    def text(self) -> str:
        """The key as clients send it."""
        return format_key(self.key_id, self.secret)

    def __repr__(self) -> str:
        return f"NewKey(key_id={self.key_id!r}, <secret hidden>)"


@dataclass(frozen=True)
class ApiKey:
    """A key's public record: what `recsys keys list` shows and what a verified call carries."""

    id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None


def generate() -> NewKey:
    """A new random key with its salt and hash."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    salt = secrets.token_hex(SALT_BYTES)
    return NewKey(secrets.token_hex(ID_BYTES), secret, salt, hash_secret(secret, salt))


def format_key(key_id: str, secret: str) -> str:
    """`rk_<id>_<secret>`."""
    return f"{PREFIX}_{key_id}_{secret}"


def parse(text: str) -> ParsedKey:
    """Split a presented key; MalformedKey when it does not have the `rk_<id>_<secret>` form."""
    found = _KEY.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise MalformedKey("malformed API key: expected rk_<12 hex id>_<43-char secret>")
    return ParsedKey(found.group(1), found.group(2))


def hash_secret(secret: str, salt: str) -> str:
    """HMAC-SHA256 of the secret keyed by the salt, as hex."""
    return hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()


def verify(secret: str, salt: str, expected_hash: str) -> bool:
    """Whether `secret` hashes to `expected_hash`, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret, salt), expected_hash)


def fingerprint(text: str) -> str:
    """SHA-256 of a presented key: what caches are keyed by, so no clear key is held."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def check_name(name: str) -> str:
    """`name` stripped; ValueError when empty, too long or holding control characters."""
    cleaned = name.strip() if isinstance(name, str) else ""
    if not cleaned or len(cleaned) > NAME_MAX or not _NAME.fullmatch(cleaned):
        raise ValueError(f"key name must be 1..{NAME_MAX} printable characters, got {name!r}")
    return cleaned
