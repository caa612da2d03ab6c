"""`recsys keys`: create prints the key once (last word, last line); list and DB never hold it."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from recsys.stores.sql_keys import open_key_store
from recsys.stores.tables import api_keys
from recsys_cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"RECSYS_DATABASE_URL": f"sqlite:///{tmp_path / 'keys.db'}"}


def create(env: dict[str, str], name: str, role: str) -> str:
    result = runner.invoke(app, ["keys", "create", "--name", name, "--role", role], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1].split()[-1]


def test_create_prints_a_working_key_as_the_last_word(env: dict[str, str]) -> None:
    key = create(env, "mobile-app", "channel")
    assert key.startswith("rk_")
    store = open_key_store(env["RECSYS_DATABASE_URL"])
    found = store.authenticate(key)
    store.close()
    assert found is not None and found.name == "mobile-app" and found.role == "channel"


def test_list_shows_keys_but_never_the_key(env: dict[str, str]) -> None:
    channel_key = create(env, "web", "channel")
    admin_key = create(env, "ops", "admin")
    result = runner.invoke(app, ["keys", "list"], env=env)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "2 API key(s)" in out
    for col in ("id", "name", "role", "created", "revoked"):
        assert col in out
    assert "web" in out and "ops" in out and "admin" in out
    for key in (channel_key, admin_key):
        key_id, secret = key.split("_", 2)[1:]
        assert key_id in out  # the public id is shown
        assert secret[:8] not in out and key not in out


def test_the_database_holds_no_clear_key(env: dict[str, str]) -> None:
    key = create(env, "branch", "marketing")
    secret = key.split("_", 2)[2]
    engine = sa.create_engine(env["RECSYS_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(api_keys)).all()
    engine.dispose()
    assert len(rows) == 1
    cells = [str(v) for v in rows[0]]
    assert not any(key in c or secret in c for c in cells)


def test_revoke_by_name_then_by_id(env: dict[str, str]) -> None:
    key = create(env, "atm", "channel")
    key_id = key.split("_")[1]
    revoked = runner.invoke(app, ["keys", "revoke", "atm"], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert f"(id {key_id}) revoked at" in revoked.output
    again = runner.invoke(app, ["keys", "revoke", key_id], env=env)
    assert again.exit_code == 0 and "was already revoked" in again.output
    store = open_key_store(env["RECSYS_DATABASE_URL"])
    assert store.authenticate(key) is None
    store.close()
    listed = runner.invoke(app, ["keys", "list"], env=env).output
    assert "UTC" in listed.split("atm", 1)[1]  # the revoked column has a time


def test_wrong_input_is_exit_2_with_a_message(env: dict[str, str]) -> None:
    create(env, "taken", "channel")
    dup = runner.invoke(app, ["keys", "create", "--name", "taken", "--role", "admin"], env=env)
    assert dup.exit_code == 2 and "a key named 'taken' exists" in dup.output
    role = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "root"], env=env)
    assert role.exit_code == 2
    unknown = runner.invoke(app, ["keys", "revoke", "nobody"], env=env)
    assert unknown.exit_code == 2 and "no API key with id or name 'nobody'" in unknown.output


def test_an_unreachable_store_is_exit_1() -> None:
    env = {"RECSYS_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = runner.invoke(app, ["keys", "list"], env=env)
    assert result.exit_code == 1 and "key store" in result.output
