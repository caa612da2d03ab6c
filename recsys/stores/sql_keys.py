"""API keys in SQL (SQLite or PostgreSQL): create, list, revoke, and check a presented key.

Rows hold the public id, name, role, salt and hash; the clear key is returned once by
`create` and never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from recsys.security import keys
from recsys.security.keys import ApiKey, MalformedKey
from recsys.security.roles import check_role
from recsys.stores.db import make_engine
from recsys.stores.errors import unavailable
from recsys.stores.migrate import upgrade
from recsys.stores.tables import api_keys

_PUBLIC = (
    api_keys.c.id,
    api_keys.c.name,
    api_keys.c.role,
    api_keys.c.created_at,
    api_keys.c.revoked_at,
)


class KeyNotFound(LookupError):
    """No key has this id or name."""


class KeyExists(ValueError):
    """A key with this name exists already (names stay taken after a revoke)."""


class SqlKeyStore:
    """KeyStore over SQLAlchemy; every method turns an unreachable DB into StoreUnavailable."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def create_tables(self) -> None:
        """Migrate the store to the newest schema (a no-op when it is there already)."""
        with unavailable("key store", "migrate the store"):
            upgrade(self.engine)

    def create(self, name: str, role: str) -> tuple[ApiKey, str]:
        """Store a new key for `name` with `role`; the record and the clear key (shown once)."""
        name, role = keys.check_name(name), check_role(role)
        new = keys.generate()
        record = ApiKey(new.key_id, name, role, datetime.now(UTC))
        row = {
            "id": record.id,
            "name": name,
            "role": role,
            "salt": new.salt,
            "hash": new.hash,
            "created_at": record.created_at,
            "revoked_at": None,
        }
        try:
            with unavailable("key store", "create a key"), self.engine.begin() as conn:
                conn.execute(api_keys.insert(), row)
        except sa.exc.IntegrityError as exc:  # the name is unique (the id is 48 random bits)
            raise KeyExists(f"a key named {name!r} exists already; pick another name") from exc
        return record, new.text

    def list_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, oldest first."""
        query = sa.select(*_PUBLIC).order_by(api_keys.c.created_at, api_keys.c.id)
        with unavailable("key store", "list keys"), self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query)]

    def get(self, id_or_name: str) -> ApiKey:
        """The key with this id, else with this name; KeyNotFound when neither exists."""
        query = sa.select(*_PUBLIC).where(
            sa.or_(api_keys.c.id == id_or_name, api_keys.c.name == id_or_name)
        )
        with unavailable("key store", "read a key"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if not rows:
            raise KeyNotFound(f"no API key with id or name {id_or_name!r}")
        # an id match wins over a (different) key whose name happens to equal it
        return _record(next((r for r in rows if r.id == id_or_name), rows[0]))

    def revoke(self, id_or_name: str) -> ApiKey:
        """Revoke a key (a no-op when it is revoked already); its record afterwards."""
        found = self.get(id_or_name)
        if found.revoked:
            return found
        now = datetime.now(UTC)
        update = (
            api_keys.update()
            .where(api_keys.c.id == found.id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        with unavailable("key store", "revoke a key"), self.engine.begin() as conn:
            conn.execute(update)
        return self.get(found.id)

    def authenticate(self, presented: str) -> ApiKey | None:
        """The live key `presented` belongs to; None when malformed, unknown, revoked or wrong."""
        try:
            parsed = keys.parse(presented)
        except MalformedKey:
            return None
        query = sa.select(*_PUBLIC, api_keys.c.salt, api_keys.c.hash).where(
            api_keys.c.id == parsed.key_id
        )
        with unavailable("key store", "check a key"), self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.revoked_at is not None:
            return None
        if not keys.verify(parsed.secret, row.salt, row.hash):
            return None
        return _record(row)


def open_key_store(url: str, *, timeout_s: float | None = None) -> SqlKeyStore:
    """A key store on `url` with its tables migrated to head."""
    engine = make_engine(url) if timeout_s is None else make_engine(url, timeout_s=timeout_s)
    store = SqlKeyStore(engine)
    store.create_tables()
    return store


def _record(row: sa.Row) -> ApiKey:
    return ApiKey(row.id, row.name, row.role, _utc(row.created_at), _utc(row.revoked_at))


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands DateTime(timezone=True) back naive; the values were written in UTC
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
