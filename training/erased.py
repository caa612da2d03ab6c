"""The store's erasures, as training reads them before it fits anything."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.db import make_engine
from recsys.stores.erasure import erased_subjects


def erased_in_store(settings: Settings) -> set[str]:
    """Digests of the customers erased in RECSYS_DATABASE_URL (none when no store exists yet).

    ValueError when the store cannot be read: training must not silently learn from a
    customer who asked to be erased.
    """
    url = sa.make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return set()
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        return erased_subjects(engine)
    except StoreUnavailable as exc:
        raise ValueError(f"cannot read the erased customers from the store: {exc}") from exc
    finally:
        engine.dispose()
