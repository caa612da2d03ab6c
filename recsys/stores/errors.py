"""Database failures as the stores report them: unreachable, locked or lost -> StoreUnavailable."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable

logger = logging.getLogger("recsys.stores")


class unavailable:  # noqa: N801 - used as a function: `with unavailable(store, action):`
    """Turn an unreachable, locked or lost connection into StoreUnavailable naming `store`.

    Nothing inside the block was committed when this raises, so nothing was acknowledged.
    Other database errors (constraint violations, bad values) pass through unchanged.
    A class, not a @contextmanager generator: every Recommend's store read enters one, and
    a generator's setup is a share of a read's cost that a class does not pay.
    """

    __slots__ = ("action", "store")

    def __init__(self, store: str, action: str) -> None:
        self.store, self.action = store, action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        if exc is None:
            return False
        if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
            logger.warning("%s: %s failed: %s", self.store, self.action, exc.__class__.__name__)
            raise StoreUnavailable(f"{self.store}: cannot {self.action}: {reason(exc)}") from exc
        if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
            raise StoreUnavailable(f"{self.store}: connection lost during {self.action}") from exc
        return False  # anything else goes on as it was raised


def reason(exc: Exception) -> str:
    """The first line of the driver's message (or of the exception)."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
