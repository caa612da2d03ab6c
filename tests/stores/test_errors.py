"""`unavailable`: which database errors become StoreUnavailable, and which pass through."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from recsys.stores.base import StoreUnavailable
from recsys.stores.errors import unavailable


class _DriverError(Exception):
    pass


def _error(kind: type[sa.exc.DBAPIError], invalidated: bool = False) -> sa.exc.DBAPIError:
    orig = _DriverError("server closed the connection\nmore")
    return kind("SELECT 1", {}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize("kind", [sa.exc.OperationalError, sa.exc.InterfaceError])
def test_unreachable_or_locked_becomes_store_unavailable_naming_store_and_action(
    kind: type[sa.exc.DBAPIError], caplog: pytest.LogCaptureFixture
) -> None:
    error = _error(kind)
    with caplog.at_level(logging.WARNING, "recsys.stores"), pytest.raises(StoreUnavailable) as got:
        with unavailable("event store", "read events"):
            raise error
    assert str(got.value) == "event store: cannot read events: server closed the connection"
    assert got.value.__cause__ is error
    assert "event store: read events failed" in caplog.text


def test_a_pool_timeout_becomes_store_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="^offer store: cannot place: QueuePool"):
        with unavailable("offer store", "place"):
            raise sa.exc.TimeoutError("QueuePool limit reached")


def test_a_lost_connection_becomes_store_unavailable_and_other_errors_pass() -> None:
    with pytest.raises(StoreUnavailable, match="^decision store: connection lost during append"):
        with unavailable("decision store", "append"):
            raise _error(sa.exc.DatabaseError, invalidated=True)
    constraint = _error(sa.exc.IntegrityError)
    with pytest.raises(sa.exc.IntegrityError) as got:
        with unavailable("decision store", "append"):
            raise constraint
    assert got.value is constraint
    with pytest.raises(ValueError, match="bad row"), unavailable("event store", "append"):
        raise ValueError("bad row")
