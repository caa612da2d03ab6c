"""The key store on SQLite and PostgreSQL: create, list, revoke, authenticate; no clear keys."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_keys import KeyExists, KeyNotFound, SqlKeyStore, open_key_store
from recsys.stores.tables import api_keys

SECRET_AT = len("rk_0123456789ab_")  # where the secret starts in a key


@pytest.fixture
def keys(store_url: str) -> Iterator[SqlKeyStore]:
    opened = open_key_store(store_url)
    yield opened
    opened.close()


def test_a_created_key_authenticates_with_its_record(keys: SqlKeyStore) -> None:
    before = datetime.now(UTC)
    record, text = keys.create("mobile-app", "channel")
    assert record.name == "mobile-app" and record.role == "channel" and not record.revoked
    assert text.startswith(f"rk_{record.id}_")
    found = keys.authenticate(text)
    assert found is not None and found.id == record.id and found.role == "channel"
    assert before - timedelta(seconds=1) <= found.created_at <= datetime.now(UTC)
    assert found.created_at.tzinfo is not None


def test_wrong_secret_unknown_id_and_garbage_do_not_authenticate(keys: SqlKeyStore) -> None:
    record, text = keys.create("web", "channel")
    other_record, other = keys.create("branch", "channel")
    # the id of one key with the secret of another
    assert keys.authenticate(f"rk_{record.id}_{other[SECRET_AT:]}") is None
    assert keys.authenticate("rk_000000000000_" + text[SECRET_AT:]) is None
    assert keys.authenticate("not a key") is None
    assert keys.authenticate("") is None
    assert keys.authenticate(text[:-1] + ("A" if text[-1] != "A" else "B")) is None
    assert keys.authenticate(other).id == other_record.id  # type: ignore[union-attr]


def test_the_store_holds_no_clear_key(keys: SqlKeyStore) -> None:
    _, text = keys.create("call-center", "admin")
    secret = text[SECRET_AT:]
    with keys.engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).all()
    cells = [str(v) for row in rows for v in row]
    assert not any(secret in c or text in c for c in cells)


def test_list_shows_every_key_oldest_first_revoked_included(keys: SqlKeyStore) -> None:
    a, _ = keys.create("a", "channel")
    b, _ = keys.create("b", "marketing")
    keys.revoke("a")
    listed = keys.list_keys()
    assert [(k.id, k.name, k.role) for k in listed] == [
        (a.id, "a", "channel"),
        (b.id, "b", "marketing"),
    ]
    assert listed[0].revoked and not listed[1].revoked


def test_revoke_by_id_or_name_stops_authentication(keys: SqlKeyStore) -> None:
    first, first_text = keys.create("first", "channel")
    _, second_text = keys.create("second", "channel")
    revoked = keys.revoke(first.id)
    assert revoked.revoked_at is not None and revoked.revoked_at.tzinfo is not None
    assert keys.authenticate(first_text) is None
    assert keys.revoke("second").revoked
    assert keys.authenticate(second_text) is None
    again = keys.revoke("first")  # idempotent: the first revoke time stays
    assert again.revoked_at == revoked.revoked_at


def test_unknown_key_and_taken_name_are_clear_errors(keys: SqlKeyStore) -> None:
    keys.create("taken", "channel")
    with pytest.raises(KeyExists, match="a key named 'taken' exists"):
        keys.create("taken", "admin")
    keys.revoke("taken")
    with pytest.raises(KeyExists):  # names stay taken: the audit trail keeps one meaning
        keys.create("taken", "channel")
    with pytest.raises(KeyNotFound, match="no API key with id or name 'nobody'"):
        keys.revoke("nobody")
    with pytest.raises(ValueError, match="role must be one of"):
        keys.create("root", "superuser")
    assert [k.name for k in keys.list_keys()] == ["taken"]


def test_an_id_match_wins_over_a_name_match(keys: SqlKeyStore) -> None:
    target, _ = keys.create("target", "channel")
    keys.create(target.id, "channel")  # a key whose *name* is the other key's id
    assert keys.get(target.id).name == "target"


def test_an_unreachable_store_is_store_unavailable() -> None:
    nowhere = "postgresql+psycopg2://nobody@127.0.0.1:1/none"
    broken = SqlKeyStore(sa.create_engine(nowhere, connect_args={"connect_timeout": 1}))
    with pytest.raises(StoreUnavailable, match="key store: cannot check a key"):
        broken.authenticate("rk_0123456789ab_" + "A" * 43)
    with pytest.raises(StoreUnavailable, match="key store: cannot list keys"):
        broken.list_keys()
