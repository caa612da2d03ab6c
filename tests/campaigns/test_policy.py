"""The contact policy's pure parts: limits on both sides of a contact, suppressions, quiet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from recsys.campaigns.policy import (
    CHANNEL_LIMIT,
    DELIVERED,
    OUTBOUND_LIMIT,
    QUIET,
    Contacts,
    Touches,
    in_quiet_period,
    limit_blocks,
    moment,
    policy_block,
    suppressed,
)
from recsys.settings import ContactPolicy, QuietPeriod

NOW = datetime(2026, 6, 10, 12, tzinfo=UTC)
POLICY = ContactPolicy()


def _contacts(*entries: tuple[int, str, float]) -> Contacts:
    """(row, channel, days from NOW) per past message."""
    return Contacts(
        np.array([r for r, _, _ in entries], dtype=np.int64),
        np.array([c for _, c, _ in entries], dtype=object),
        np.array([moment(NOW + timedelta(days=d)) for _, _, d in entries], dtype="datetime64[us]"),
    )


def _touches(*entries: tuple[int, int, str, float]) -> Touches:
    """(row, product, kind, days from NOW) per touch."""
    return Touches(
        np.array([r for r, _, _, _ in entries], dtype=np.int64),
        np.array([p for _, p, _, _ in entries], dtype=np.int64),
        np.array([k for _, _, k, _ in entries], dtype=object),
        np.array([moment(NOW + timedelta(days=d)) for *_, d in entries], dtype="datetime64[us]"),
    )


def test_one_email_a_week_on_either_side_and_sms_counts_apart() -> None:
    contacts = _contacts((0, "email", -6.9), (1, "email", -7.1), (2, "email", 6.5), (3, "sms", -1))
    blocked = limit_blocks(POLICY, contacts, channel="email", at=NOW, b=5)
    assert blocked[CHANNEL_LIMIT].tolist() == [True, False, True, False, False]
    sms = limit_blocks(POLICY, contacts, channel="sms", at=NOW, b=5)
    assert sms[CHANNEL_LIMIT].tolist() == [False, False, False, True, False]


def test_three_outbound_contacts_of_any_channel_in_thirty_days() -> None:
    three = _contacts((0, "email", -20), (0, "sms", -10), (0, "push", -2), (1, "push", -29))
    blocked = limit_blocks(POLICY, three, channel="push", at=NOW, b=2)
    assert blocked[OUTBOUND_LIMIT].tolist() == [True, False]
    assert "channel_limit" not in blocked  # push has no channel limit by default


def test_impressions_without_a_click_suppress_a_product_and_a_click_lifts_it() -> None:
    shown = [(0, 2, "impression", -d) for d in (1, 2, 3, 4, 5)]
    touches = _touches(
        *shown,
        *[(1, 2, "impression", -d) for d in (1, 2, 3, 4, 5)],
        (1, 2, "click", -3),
        (2, 2, "impression", -1),
    )
    out = suppressed(POLICY, touches, at=NOW, shape=(3, 4))
    assert out["impressions"][:, 2].tolist() == [True, False, False]
    assert out["impressions"].sum() == 1


def test_a_reject_and_a_recent_delivery_suppress_only_that_product() -> None:
    touches = _touches(
        (0, 1, "reject", -29),
        (1, 1, "reject", -31),
        (2, 3, DELIVERED, -0.5),
        (2, 0, DELIVERED, -8),
        (3, -1, "reject", -1),
    )
    out = suppressed(POLICY, touches, at=NOW, shape=(4, 4))
    assert np.argwhere(out["reject"]).tolist() == [[0, 1]]
    assert np.argwhere(out["repeat"]).tolist() == [[2, 3]]


def test_touches_after_the_moment_do_not_suppress() -> None:
    out = suppressed(POLICY, _touches((0, 1, "reject", 1)), at=NOW, shape=(1, 2))
    assert not out["reject"].any()


def test_quiet_hours_wrap_midnight_and_quiet_periods_block_everyone() -> None:
    night = ContactPolicy(quiet_hours=(21, 8))
    assert in_quiet_period(night, NOW.replace(hour=22)) and in_quiet_period(
        night, NOW.replace(hour=7)
    )
    assert not in_quiet_period(night, NOW)
    freeze = ContactPolicy(
        quiet_periods=[QuietPeriod(start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=1))]
    )
    block = policy_block(
        freeze, Contacts.none(), Touches.none(), channel="email", at=NOW, shape=(3, 2)
    )
    assert block.customers[QUIET].all() and not block.allowed().any()
    assert (
        policy_block(POLICY, Contacts.none(), Touches.none(), channel="email", at=NOW, shape=(3, 2))
        .allowed()
        .all()
    )
