"""What clients are told when a store fails: the store and the action, never driver details."""

from __future__ import annotations

import grpc

from recsys.stores.base import StoreUnavailable
from serving.transport.status import common_status, public_store_message


def test_driver_details_stay_in_the_server() -> None:
    exc = StoreUnavailable(
        'event store: cannot append events: connection to server at "10.0.0.7", port 5432 '
        'failed: FATAL: role "recsys_writer" is not permitted to log in'
    )
    code, message = common_status(exc)
    assert code == grpc.StatusCode.UNAVAILABLE
    assert message == "event store: cannot append events (unavailable, retry later)"
    assert "10.0.0.7" not in message and "recsys_writer" not in message


def test_a_lost_connection_keeps_its_action() -> None:
    exc = StoreUnavailable("offer store: connection lost during reserve offer slot")
    assert public_store_message(exc) == (
        "offer store: connection lost during reserve offer slot (unavailable, retry later)"
    )
