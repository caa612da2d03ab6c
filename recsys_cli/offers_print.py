"""Rich rendering of offers, their history and their stats for `recsys offers`."""

from __future__ import annotations

import re
from datetime import UTC

from google.protobuf.timestamp_pb2 import Timestamp
from rich.markup import escape as _escape_markup
from rich.table import Table

from recsys_cli.console import console, err_console
from serving._proto.recsys.v1 import offers_pb2 as pb

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

STATUS_NAMES = {
    pb.OFFER_STATUS_DRAFT: "draft",
    pb.OFFER_STATUS_ACTIVE: "active",
    pb.OFFER_STATUS_PAUSED: "paused",
    pb.OFFER_STATUS_ENDED: "ended",
}
STATUS_STYLE = {"active": "green", "paused": "yellow", "ended": "dim", "draft": "cyan"}


def status_name(value: int) -> str:
    """draft / active / paused / ended."""
    return STATUS_NAMES.get(value, "unspecified")


def when(ts: Timestamp) -> str:
    """A timestamp as `YYYY-MM-DD HH:MM` UTC."""
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%d %H:%M")


def action_text(o: pb.Offer) -> str:
    """`boost x1.5` or `pin #1`."""
    return f"boost x{o.boost:g}" if o.WhichOneof("action") == "boost" else f"pin #{o.pin}"


def cap_text(o: pb.Offer) -> str:
    """The caps in short: `2/7d, 1000 impressions`, or `-`."""
    parts = []
    if o.HasField("cap"):
        parts.append(f"{o.cap.impressions}/{o.cap.days}d")
    if o.HasField("volume_cap"):
        event = "purchases" if o.volume_event == pb.VOLUME_EVENT_PURCHASE else "impressions"
        parts.append(f"{o.volume_cap:,} {event}")
    return ", ".join(parts) or "-"


def target_text(t: pb.OfferTarget) -> str:
    """The target's conditions in one line (`anyone` when it has none)."""
    parts = []
    if t.segments:
        parts.append("segments " + ",".join(t.segments))
    if t.HasField("age_min") and t.HasField("age_max"):
        parts.append(f"age {t.age_min}-{t.age_max}")
    elif t.HasField("age_min"):
        parts.append(f"age {t.age_min}+")
    elif t.HasField("age_max"):
        parts.append(f"age up to {t.age_max}")
    if t.income_bands:
        parts.append("income " + ",".join(t.income_bands))
    if t.regions:
        parts.append("regions " + ",".join(t.regions))
    if t.HasField("min_risk_tolerance"):
        parts.append(f"risk tolerance >= {t.min_risk_tolerance}")
    if t.has_customer_list:
        count = f"{t.customer_count:,} " if t.HasField("customer_count") else ""
        parts.append(f"{count}listed customers")
    return "; ".join(parts) or "anyone"


def escape(text: str) -> str:
    """`text` safe for the terminal: control characters as \\xNN, rich markup escaped.

    Stored offers refuse control characters, but older rows and other writers may hold them;
    an operator's terminal must never run what an offer's text carries.
    """
    return _escape_markup(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


def print_offers(offers: list[pb.Offer]) -> None:
    """The offers as one table."""
    table = Table(title=f"{len(offers)} offer(s)")
    for col in (
        "id",
        "name",
        "product",
        "action",
        "channels",
        "start",
        "end",
        "caps",
        "priority",
        "status",
    ):
        # ids are copied into other commands: never folded or cut
        if col == "id":
            table.add_column(col, no_wrap=True)
        else:
            table.add_column(col, overflow="fold")
    for o in offers:
        status = status_name(o.status)
        table.add_row(
            escape(o.id),
            escape(o.name),
            escape(o.product_id),
            action_text(o),
            escape(",".join(o.channels)) or "all",
            when(o.start_time),
            when(o.end_time),
            cap_text(o),
            str(o.priority),
            f"[{STATUS_STYLE.get(status, '')}]{status}[/]",
        )
    console.print(table)


def print_offer(o: pb.Offer) -> None:
    """One offer, field by field."""
    table = Table(title=f"offer {o.id}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    rows = [
        ("name", escape(o.name)),
        ("product", escape(o.product_id)),
        ("status", status_name(o.status)),
        ("action", action_text(o)),
        ("channels", escape(",".join(o.channels)) or "all"),
        ("target", escape(target_text(o.target))),
        ("window (UTC)", f"{when(o.start_time)} -> {when(o.end_time)}"),
        ("caps", cap_text(o)),
        ("max share", f"{o.max_share:g}"),
        ("priority", str(o.priority)),
        ("created", f"{when(o.create_time)} by {escape(o.created_by)}"),
        ("updated", f"{when(o.update_time)} by {escape(o.updated_by)} (revision {o.revision})"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_history(history: list[pb.OfferAuditEntry]) -> None:
    """The audit trail, oldest first: who changed what, from what to what."""
    table = Table(title="history")
    for col in ("time (UTC)", "actor", "action", "changes"):
        table.add_column(col, overflow="fold")
    for e in history:
        if e.action == "create":
            changes = "created"
        else:
            changes = "\n".join(f"{c.field}: {c.before} -> {c.after}" for c in e.changes)
        table.add_row(when(e.time), escape(e.actor), e.action, escape(changes))
    console.print(table)


def print_stats(stats: pb.OfferStats) -> None:
    """Counts and rates per channel, then the total."""
    table = Table(title=f"offer {stats.offer_id} ({escape(stats.name)})")
    for col in ("channel", "served", "impressions", "clicks", "purchases", "CTR", "conversion"):
        table.add_column(col, justify="left" if col == "channel" else "right")
    for c in stats.channels:
        table.add_row(*_stats_row(c, c.channel or "(no channel)"))
    table.add_row(*_stats_row(stats.total, "[bold]total[/]"))
    console.print(table)
    console.print("CTR = clicks / impressions; conversion = purchases / impressions")


def _stats_row(c: pb.OfferChannelStats, label: str) -> list[str]:
    def pct(has: bool, value: float) -> str:
        return f"{value:.1%}" if has else "-"

    return [
        label,
        f"{c.served:,}",
        f"{c.impressions:,}",
        f"{c.clicks:,}",
        f"{c.purchases:,}",
        pct(c.HasField("click_through_rate"), c.click_through_rate),
        pct(c.HasField("conversion_rate"), c.conversion_rate),
    ]


def print_warnings(warnings: list[str]) -> None:
    """The server's warnings, one per line, on stderr."""
    for w in warnings:
        err_console.print(f"[yellow]warning:[/] {escape(w)}")
