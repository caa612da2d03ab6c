"""Database failures as the stores report them: unreachable, locked or lost -> StoreUnavailable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable

logger = logging.getLogger("recsys.stores")


@contextmanager
def unavailable(store: str, action: str) -> Iterator[None]:
    """Turn an unreachable, locked or lost connection into StoreUnavailable naming `store`.

    Nothing inside the block was committed when this raises, so nothing was acknowledged.
    Other database errors (constraint violations, bad values) pass through unchanged.
    """
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
        logger.warning("%s: %s failed: %s", store, action, exc.__class__.__name__)
        raise StoreUnavailable(f"{store}: cannot {action}: {reason(exc)}") from exc
    except sa.exc.DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        raise StoreUnavailable(f"{store}: connection lost during {action}") from exc


def reason(exc: Exception) -> str:
    """The first line of the driver's message (or of the exception)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
