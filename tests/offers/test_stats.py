"""Offer stats: exact counts and rates from a scripted stream, and invariants on any stream."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recsys.offers.stats import ChannelStats, DayStats, OfferStats, day_stats, offer_stats, rate

# What one offer went through: a slot served, then what the customer did, per channel.
SCRIPT = [
    *[("mobile", "served")] * 10,
    *[("mobile", "impression")] * 8,
    *[("mobile", "click")] * 2,
    ("mobile", "purchase"),
    ("mobile", "view"),  # not a counted event
    *[("web", "served")] * 4,
    *[("web", "impression")] * 4,
    ("web", "click"),
    ("atm", "served"),  # served, never reported as seen
    ("", "purchase"),  # bought in a branch that reported no channel
]


def counts(stream: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(channel, event, count) rows, as the offer store returns them."""
    return [(c, e, n) for (c, e), n in Counter(stream).items()]


def test_scripted_stream_gives_exact_counts_and_rates() -> None:
    stats = offer_stats(counts(SCRIPT))
    assert stats.channels == (
        ChannelStats("", purchases=1),
        ChannelStats("atm", served=1),
        ChannelStats("mobile", served=10, impressions=8, clicks=2, purchases=1),
        ChannelStats("web", served=4, impressions=4, clicks=1),
    )
    assert stats.total == ChannelStats("", served=15, impressions=12, clicks=3, purchases=2)
    mobile = stats.channels[2]
    assert mobile.click_through_rate == 0.25 and mobile.conversion_rate == 0.125
    assert stats.channels[3].click_through_rate == 0.25
    assert stats.channels[3].conversion_rate == 0.0
    assert stats.total.click_through_rate == 0.25
    assert stats.total.conversion_rate == pytest.approx(2 / 12)


def test_rates_without_impressions_are_none_not_zero() -> None:
    stats = offer_stats(counts(SCRIPT))
    atm, no_channel = stats.channels[1], stats.channels[0]
    assert atm.click_through_rate is None and atm.conversion_rate is None
    assert no_channel.conversion_rate is None
    assert rate(0, 0) is None and rate(0, 5) == 0.0 and rate(3, 4) == 0.75


def test_repeated_rows_add_up_and_nothing_is_empty() -> None:
    stats = offer_stats([("web", "click", 2), ("web", "click", 3), ("web", "close", 9)])
    assert stats.channels == (ChannelStats("web", clicks=5),)
    assert offer_stats([]) == OfferStats((), ChannelStats(""))
    assert offer_stats([("web", "view", 4), ("web", "click", 0)]).channels == ()


def test_a_negative_count_is_refused_with_its_place() -> None:
    with pytest.raises(ValueError, match="'click' in channel 'web' is negative"):
        offer_stats([("web", "click", -1)])


EVENTS = st.sampled_from(["served", "impression", "click", "purchase", "view", "apply"])
CHANNELS = st.sampled_from(["", "mobile", "web", "atm"])


@given(st.lists(st.tuples(CHANNELS, EVENTS), max_size=60))
def test_total_is_the_sum_of_channels_and_counts_match_the_stream(
    stream: list[tuple[str, str]],
) -> None:
    stats = offer_stats(counts(stream))
    seen = Counter(stream)
    for c in stats.channels:
        assert (c.served, c.impressions, c.clicks, c.purchases) == (
            seen[(c.channel, "served")],
            seen[(c.channel, "impression")],
            seen[(c.channel, "click")],
            seen[(c.channel, "purchase")],
        )
    total = Counter(e for _, e in stream)
    assert (stats.total.served, stats.total.impressions) == (total["served"], total["impression"])
    assert (stats.total.clicks, stats.total.purchases) == (total["click"], total["purchase"])
    assert [c.channel for c in stats.channels] == sorted({c.channel for c in stats.channels})
    ctr = stats.total.click_through_rate
    assert (ctr is None) == (total["impression"] == 0)


def test_day_stats_add_a_days_channels_and_skip_days_of_other_events() -> None:
    d1, d2, d3 = date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)
    rows = [(d2, "impression", 3), (d1, "served", 4), (d2, "impression", 2), (d3, "view", 9)]
    rows.append((d2, "click", 1))
    assert day_stats(rows) == (
        DayStats(d1, ChannelStats("", served=4)),
        DayStats(d2, ChannelStats("", impressions=5, clicks=1)),
    )
