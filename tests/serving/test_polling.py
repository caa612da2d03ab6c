"""The books' poll: a refresh now, then again and again until stopped."""

from __future__ import annotations

import threading

import pytest

from serving.polling import Poller


def test_start_refreshes_at_once_then_polls_until_stopped() -> None:
    calls: list[int] = []
    third = threading.Event()

    def refresh() -> None:
        calls.append(len(calls))
        if len(calls) >= 3:
            third.set()

    poller = Poller(refresh, 0.01, "test-poll")
    poller.start()
    assert calls, "start must refresh before it returns"
    assert third.wait(30), "the thread never refreshed again"
    poller.stop()
    stopped = len(calls)
    assert not poller._thread.is_alive()
    poller._stop.wait(0.05)
    assert len(calls) == stopped  # nothing refreshes after stop


def test_a_second_start_starts_no_second_thread() -> None:
    poller = Poller(lambda: None, 60, "test-poll")
    poller.start()
    first = poller._thread
    poller.start()
    assert poller._thread is first
    poller.stop()


@pytest.mark.parametrize("seconds", [0, -1])
def test_the_interval_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="refresh_seconds must be positive"):
        Poller(lambda: None, seconds, "test-poll")
