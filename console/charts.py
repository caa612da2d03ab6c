"""Per-day bar charts drawn on the server as SVG (no script, no chart library to ship).

Pure: a series of (day, value) in, markup out. Each bar has a <title> (a tooltip, and what
a screen reader says); the chart has a role and a label; a table of the same numbers sits
beside it on the page for anyone who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from markupsafe import Markup, escape

WIDTH: Final = 600
HEIGHT: Final = 160
PAD_LEFT: Final = 44
PAD_BOTTOM: Final = 22
PAD_TOP: Final = 10
MAX_DAYS: Final = 120  # the most recent days drawn; older ones stay in the table


@dataclass(frozen=True)
class Series:
    """One chart: its name and a value per day (every day of the range, oldest first)."""

    label: str
    days: tuple[date, ...]
    values: tuple[int, ...]


def daily_series(rows: Sequence[tuple[date, dict[str, int]]], names: Sequence[str]) -> list[Series]:
    """One series per name over every day from the first row's to the last's (gaps as 0)."""
    if not rows:
        return [Series(n, (), ()) for n in names]
    by_day = dict(rows)
    first, last = min(by_day), max(by_day)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    days = tuple(first + timedelta(days=i) for i in range((last - first).days + 1))
    return [Series(n, days, tuple(by_day.get(d, {}).get(n, 0) for d in days)) for n in names]


def bar_chart(series: Series) -> Markup:
    """An SVG bar chart of one series (an empty-state sentence when it has no days)."""
    if not series.days:
        return Markup('<p class="empty">No {} yet.</p>').format(series.label)
    top = max(max(series.values), 1)
    inner_w = WIDTH - PAD_LEFT - 4
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    step = inner_w / len(series.days)
    bar = max(step * 0.8, 1.0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(series.label)} per day, {series.days[0]} to {series.days[-1]}, '
        f'at most {top:,}" preserveAspectRatio="none">',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
        _tick(PAD_LEFT - 6, PAD_TOP + 8, f"{top:,}", "end"),
        _tick(PAD_LEFT - 6, HEIGHT - PAD_BOTTOM, "0", "end"),
    ]
    for i, (day, value) in enumerate(zip(series.days, series.values, strict=True)):
        h = inner_h * value / top
        x = PAD_LEFT + i * step + (step - bar) / 2
        y = HEIGHT - PAD_BOTTOM - h
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{day}: {value:,} {escape(series.label)}</title></rect>"
        )
    for day in (series.days[0], series.days[-1]):
        x = PAD_LEFT if day == series.days[0] else WIDTH - 2
        anchor = "start" if day == series.days[0] else "end"
        parts.append(_tick(x, HEIGHT - 6, str(day), anchor))
    parts.append("</svg>")
    return Markup("".join(parts))


def _tick(x: float, y: float, text: str, anchor: str) -> str:
    return f'<text class="tick" x="{x}" y="{y}" text-anchor="{anchor}">{escape(text)}</text>'
