"""An experiment's plot drawn on the server as SVG: the cumulative purchase rate per arm over
the report's looks, each with its 95% band.

Pure: points in, markup out. Colours come from the stylesheet by arm (CSP allows no inline
style); the chart has a role and a label saying what the last look shows, and the page puts
a table of the same numbers beside it for anyone who cannot see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final, Protocol

from markupsafe import Markup, escape

WIDTH: Final = 640
HEIGHT: Final = 240
PAD_LEFT: Final = 58
PAD_RIGHT: Final = 8
PAD_TOP: Final = 12
PAD_BOTTOM: Final = 24
ARMS: Final = ("champion", "challenger", "control")  # the arms an experiment may have


class Point(Protocol):
    """One arm at one look (recsys.v1 ReportPoint has these fields)."""

    at: str  # ISO 8601
    arm: str
    customers: int
    rate: float
    low: float
    high: float


def by_arm(points: Sequence[Point], arms: Sequence[str]) -> dict[str, list[Point]]:
    """The points of each arm in `arms` order, oldest look first (arms without any left out)."""
    out: dict[str, list[Point]] = {a: [] for a in arms}
    for p in points:
        out.setdefault(p.arm, []).append(p)
    return {a: sorted(ps, key=lambda p: p.at) for a, ps in out.items() if ps}


def rate_chart(points: Sequence[Point], arms: Sequence[str]) -> Markup:
    """The SVG of every arm's cumulative purchase rate with its band (a sentence when empty)."""
    lines = by_arm(points, arms)
    if not lines:
        return Markup('<p class="empty">No customer has been assigned yet: nothing to plot.</p>')
    times = sorted({_moment(p.at) for ps in lines.values() for p in ps})
    first, last = times[0], times[-1]
    span = (last - first).total_seconds() or 1.0
    # nothing bought yet: a 0..1 scale rather than a flat line at the top of a 0..0 one
    top = max(p.high for ps in lines.values() for p in ps) or 1.0
    inner_w = WIDTH - PAD_LEFT - PAD_RIGHT
    inner_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x(p: Point) -> float:
        return PAD_LEFT + inner_w * (_moment(p.at) - first).total_seconds() / span

    def y(value: float) -> float:
        return PAD_TOP + inner_h * (1 - value / top)

    latest = "; ".join(
        f"{a} {ps[-1].rate:.4f} [{ps[-1].low:.4f}, {ps[-1].high:.4f}]" for a, ps in lines.items()
    )
    label = (
        f"Cumulative purchases per assigned customer by arm, {len(times)} looks from "
        f"{_short(first)} to {_short(last)}; at the last look: {latest}"
    )
    parts = [
        f'<svg class="chart rates" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(label)}">',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{HEIGHT - PAD_BOTTOM}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
        f'<line class="axis" x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" '
        f'y2="{HEIGHT - PAD_BOTTOM}"/>',
    ]
    for value in (top, top / 2, 0.0):
        parts.append(_text(PAD_LEFT - 6, y(value) + 4, f"{value:.4f}", "end"))
    for arm, ps in lines.items():
        css = arm_class(arm)
        upper = " ".join(f"{x(p):.1f},{y(p.high):.1f}" for p in ps)
        lower = " ".join(f"{x(p):.1f},{y(p.low):.1f}" for p in reversed(ps))
        parts.append(f'<polygon class="band {css}" points="{upper} {lower}"/>')
        line = " ".join(f"{x(p):.1f},{y(p.rate):.1f}" for p in ps)
        parts.append(
            f'<polyline class="line {css}" points="{line}"><title>{escape(arm)}</title></polyline>'
        )
        for p in ps:
            parts.append(
                f'<circle class="dot {css}" cx="{x(p):.1f}" cy="{y(p.rate):.1f}" r="2.5">'
                f"<title>{escape(arm)}, {_short(_moment(p.at))}: {p.rate:.4f} "
                f"[{p.low:.4f}, {p.high:.4f}], {p.customers:,} customers</title></circle>"
            )
    parts.append(_text(PAD_LEFT, HEIGHT - 6, _short(first), "start"))
    parts.append(_text(WIDTH - PAD_RIGHT, HEIGHT - 6, _short(last), "end"))
    parts.append("</svg>")
    return Markup("".join(parts))


def arm_class(arm: str) -> str:
    """An arm's colour class in the stylesheet (the chart's lines and the legend's keys)."""
    return f"arm-{arm}" if arm in ARMS else "arm-other"


def _moment(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def _short(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _text(x: float, y: float, text: str, anchor: str) -> str:
    return (
        f'<text class="tick" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'
    )
