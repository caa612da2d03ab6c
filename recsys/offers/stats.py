"""How an offer performs: served slots, impressions, clicks, purchases and rates per channel.

Pure arithmetic over (channel, event type, count) rows, as the offer store attributes them.
A rate whose denominator is zero is None ("no impressions yet"), never 0: a channel that has
shown nothing has no click-through rate, which is not the same as a 0% one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

from recsys.columns import Events

SERVED: Final = "served"  # a slot the offer took in an answer (the store's delivery rows)
COUNTED: Final = {
    SERVED: "served",
    Events.impression: "impressions",
    Events.click: "clicks",
    Events.purchase: "purchases",
}  # event type -> ChannelStats field


def rate(part: int, whole: int) -> float | None:
    """part / whole, or None when whole is 0."""
    return part / whole if whole else None


@dataclass(frozen=True)
class ChannelStats:
    """Counts of one channel ("" = events reported without a channel, or the total)."""

    channel: str
    served: int = 0
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0

    @property
    def click_through_rate(self) -> float | None:
        """clicks / impressions (None without impressions)."""
        return rate(self.clicks, self.impressions)

    @property
    def conversion_rate(self) -> float | None:
        """purchases / impressions (None without impressions)."""
        return rate(self.purchases, self.impressions)

    def __add__(self, other: ChannelStats) -> ChannelStats:
        return ChannelStats(
            self.channel if self.channel == other.channel else "",
            self.served + other.served,
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.purchases + other.purchases,
        )


@dataclass(frozen=True)
class OfferStats:
    """Per-channel counts (sorted by channel) and their total."""

    channels: tuple[ChannelStats, ...]
    total: ChannelStats


def offer_stats(counts: Iterable[tuple[str, str, int]]) -> OfferStats:
    """Stats from (channel, event type, count) rows; other event types are ignored.

    Rows may repeat a (channel, event) pair (they add up); channels with none of the counted
    events are left out.
    """
    sums: dict[str, dict[str, int]] = {}
    for channel, event, n in counts:
        if n < 0:
            raise ValueError(f"count of {event!r} in channel {channel!r} is negative: {n}")
        name = COUNTED.get(event)
        if name is None or n == 0:
            continue
        per = sums.setdefault(channel or "", {})
        per[name] = per.get(name, 0) + n
    rows = tuple(ChannelStats(channel, **sums[channel]) for channel in sorted(sums))
    return OfferStats(rows, sum(rows, ChannelStats("")))


@dataclass(frozen=True)
class DayStats:
    """Counts of one UTC day, every channel together (no channel in `counts`)."""

    day: date
    counts: ChannelStats


def day_stats(counts: Iterable[tuple[date, str, int]]) -> tuple[DayStats, ...]:
    """Per-day stats, oldest first, from (day, event type, count) rows; days with none of the
    counted events are left out, as channels are in `offer_stats`."""
    per_day: dict[date, list[tuple[str, str, int]]] = {}
    for day, event, n in counts:
        per_day.setdefault(day, []).append(("", event, n))
    out = (DayStats(day, offer_stats(per_day[day]).total) for day in sorted(per_day))
    return tuple(d for d in out if d.counts != ChannelStats(""))


@dataclass(frozen=True)
class CapUse:
    """How much of its caps an offer has used, counted as the caps count exposures."""

    volume_cap: int | None
    volume_used: int
    customers_in_window: int = 0  # exposed within the frequency cap's window
    customers_at_cap: int = 0  # of those, at the cap now
