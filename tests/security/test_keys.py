"""API keys: format round-trips, hashes verify only the right secret, nothing leaks the key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.security import keys
from recsys.security.keys import MalformedKey

ids = st.text("0123456789abcdef", min_size=12, max_size=12)
secrets_ = st.text(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=43, max_size=43
)


def test_generated_keys_parse_back_and_verify() -> None:
    new = keys.generate()
    assert new.text.startswith(f"rk_{new.key_id}_")
    parsed = keys.parse(new.text)
    assert (parsed.key_id, parsed.secret) == (new.key_id, new.secret)
    assert keys.verify(parsed.secret, new.salt, new.hash)
    assert new.secret not in new.hash and new.secret not in new.salt
    assert len(new.salt) <= 64 and len(new.hash) <= 128  # the api_keys columns


def test_keys_are_unique_and_salts_differ() -> None:
    made = [keys.generate() for _ in range(200)]
    assert len({m.key_id for m in made}) == 200
    assert len({m.secret for m in made}) == 200
    assert len({m.salt for m in made}) == 200


@given(ids, secrets_)
def test_format_and_parse_round_trip(key_id: str, secret: str) -> None:
    parsed = keys.parse(keys.format_key(key_id, secret))
    assert (parsed.key_id, parsed.secret) == (key_id, secret)


@given(secrets_, secrets_, st.text(min_size=1, max_size=64))
def test_only_the_right_secret_verifies(secret: str, other: str, salt: str) -> None:
    stored = keys.hash_secret(secret, salt)
    assert keys.verify(secret, salt, stored)
    assert keys.verify(other, salt, stored) == (other == secret)


def test_the_same_secret_hashes_differently_under_another_salt() -> None:
    assert keys.hash_secret("s" * 43, "salt-a") != keys.hash_secret("s" * 43, "salt-b")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Bearer rk_0123456789ab_" + "A" * 43,
        "rk_0123456789ab_" + "A" * 42,  # secret one char short
        "rk_0123456789AB_" + "A" * 43,  # id is lowercase hex
        "xk_0123456789ab_" + "A" * 43,
        "rk_0123456789ab_" + "A" * 42 + "!",
    ],
)
def test_malformed_keys_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(MalformedKey) as info:
        keys.parse(text)
    assert "A" * 40 not in str(info.value)


def test_reprs_and_fingerprints_hide_the_secret() -> None:
    new = keys.generate()
    assert new.secret not in repr(new)
    assert new.secret not in repr(keys.parse(new.text))
    digest = keys.fingerprint(new.text)
    assert len(digest) == 64 and new.secret not in digest
    assert keys.fingerprint(new.text) == digest != keys.fingerprint(new.text + "x")


@pytest.mark.parametrize("bad", ["", "   ", "a" * 201, "tab\there", "nul\x00"])
def test_bad_names_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="key name must be"):
        keys.check_name(bad)


def test_names_are_stripped() -> None:
    assert keys.check_name("  mobile app  ") == "mobile app"
