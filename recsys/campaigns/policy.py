"""The contact policy, as pure functions over the history of a batch of customers.

Limits count contact *messages* per customer (one message carries up to k products); the
suppressions are per product. A limit is checked over the window on both sides of the
contact's moment, so it holds whatever order campaigns run in: any `days`-long window around
a contact holds at most `contacts` of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from recsys.columns import Events
from recsys.settings import ContactLimit, ContactPolicy

DELIVERED: Final = (
    "delivered"  # a touch kind: the product went to the customer (offer slot, contact)
)
CHANNEL_LIMIT: Final = "channel_limit"
OUTBOUND_LIMIT: Final = "outbound_limit"
QUIET: Final = "quiet"
SUPPRESSED: Final = ("impressions", "reject", "repeat")


@dataclass(frozen=True, eq=False)
class Contacts:
    """Past outbound contact messages of a batch's customers (one entry a message)."""

    row: np.ndarray  # int64 (c,): the customer's row in the batch
    channel: np.ndarray  # str objects (c,)
    at: np.ndarray  # datetime64[us] (c,), UTC

    @classmethod
    def none(cls) -> Contacts:
        """No contact at all."""
        return cls(np.zeros(0, np.int64), np.zeros(0, object), np.zeros(0, "datetime64[us]"))


@dataclass(frozen=True, eq=False)
class Touches:
    """What happened between a batch's customers and products: delivered, shown, clicked,
    rejected (kind DELIVERED or an event type)."""

    row: np.ndarray  # int64 (e,)
    product: np.ndarray  # int64 (e,): internal product id, -1 for one the catalog lacks
    kind: np.ndarray  # str objects (e,)
    at: np.ndarray  # datetime64[us] (e,), UTC

    @classmethod
    def none(cls) -> Touches:
        """No touch at all."""
        empty = np.zeros(0, np.int64)
        return cls(empty, empty, np.zeros(0, object), np.zeros(0, "datetime64[us]"))


@dataclass(frozen=True, eq=False)
class PolicyBlock:
    """What the policy blocks for a batch on one channel at one moment, by reason."""

    customers: dict[str, np.ndarray]  # reason -> (b,) bool: no contact at all
    products: dict[str, np.ndarray]  # reason -> (b, n) bool: no contact about the product

    def allowed(self) -> np.ndarray:
        """(b, n) bool: the policy lets the customer be contacted about the product."""
        blocked = np.logical_or.reduce(list(self.customers.values()))
        out = ~blocked[:, None] & np.ones_like(next(iter(self.products.values())), dtype=bool)
        for mask in self.products.values():
            out &= ~mask
        return out


def moment(at: datetime) -> np.datetime64:
    """A moment as numpy's UTC datetime64[us] (naive datetimes are taken as UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(at, "us")


def policy_block(
    policy: ContactPolicy,
    contacts: Contacts,
    touches: Touches,
    *,
    channel: str,
    at: datetime,
    shape: tuple[int, int],
) -> PolicyBlock:
    """The policy for a batch of `shape` (customers, products) contacted on `channel` at `at`."""
    return PolicyBlock(
        limit_blocks(policy, contacts, channel=channel, at=at, b=shape[0]),
        suppressed(policy, touches, at=at, shape=shape),
    )


def limit_blocks(
    policy: ContactPolicy, contacts: Contacts, *, channel: str, at: datetime, b: int
) -> dict[str, np.ndarray]:
    """(b,) bool per limit: one more contact on `channel` at `at` would break it."""
    when = moment(at)
    out: dict[str, np.ndarray] = {}
    limit = policy.channel_limits.get(channel)
    if limit is not None:
        same = contacts.channel == channel
        out[CHANNEL_LIMIT] = _full(contacts.row[same], contacts.at[same], when, limit, b)
    out[OUTBOUND_LIMIT] = _full(contacts.row, contacts.at, when, policy.outbound_limit, b)
    out[QUIET] = np.full(b, in_quiet_period(policy, at))
    return out


def suppressed(
    policy: ContactPolicy, touches: Touches, *, at: datetime, shape: tuple[int, int]
) -> dict[str, np.ndarray]:
    """(b, n) bool per reason: the product is not pushed to the customer now."""
    age = moment(at) - touches.at
    known = (touches.product >= 0) & (age >= np.timedelta64(0, "us"))

    def within(kind: str, days: float) -> np.ndarray:
        return known & (touches.kind == kind) & (age < _days(days))

    shown = _count(touches, within(Events.impression, policy.suppress_days), shape)
    clicked = _count(touches, within(Events.click, policy.suppress_days), shape) > 0
    return {
        "impressions": (shown >= policy.suppress_impressions) & ~clicked,
        "reject": _count(touches, within(Events.reject, policy.reject_days), shape) > 0,
        "repeat": _count(touches, within(DELIVERED, policy.repeat_days), shape) > 0,
    }


def in_quiet_period(policy: ContactPolicy, at: datetime) -> bool:
    """Whether `at` falls in a quiet period or the daily quiet hours (UTC)."""
    utc = at.astimezone(UTC) if at.tzinfo is not None else at.replace(tzinfo=UTC)
    for period in policy.quiet_periods:
        start = period.start if period.start.tzinfo else period.start.replace(tzinfo=UTC)
        end = period.end if period.end.tzinfo else period.end.replace(tzinfo=UTC)
        if start <= utc < end:
            return True
    if policy.quiet_hours is None:
        return False
    first, last = policy.quiet_hours
    hour = utc.hour
    return first <= hour < last if first <= last else hour >= first or hour < last


def _full(
    rows: np.ndarray, moments: np.ndarray, when: np.datetime64, limit: ContactLimit, b: int
) -> np.ndarray:
    """(b,) bool: the customer already has `limit.contacts` contacts within the window."""
    near = np.abs(moments - when) < _days(limit.days)
    return np.bincount(rows[near], minlength=b)[:b] >= limit.contacts


def _count(touches: Touches, keep: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(b, n) int: the kept touches per customer and product."""
    flat = touches.row[keep] * shape[1] + touches.product[keep]
    return np.bincount(flat, minlength=shape[0] * shape[1]).reshape(shape)


def _days(days: float) -> np.timedelta64:
    return np.timedelta64(int(timedelta(days=days) / timedelta(microseconds=1)), "us")
