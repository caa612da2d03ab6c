"""`recsys audit CUSTOMER`: what this customer was shown, and why (the decision log).

`recsys audit purge --older-than-days N` deletes old decisions by hand; the server also
purges past `RECSYS_DECISION_RETENTION_DAYS` on its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import click
import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

from recsys.data.validate import as_utc
from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_decisions import Decision, DecisionStore, open_decision_store
from recsys_cli.console import console, err_console

EXIT_UNAVAILABLE = 1
EXIT_NOTHING_FOUND = 1  # like grep: a customer with no decisions is not an error of the command
EXIT_USAGE = 2
DEFAULT_LIMIT = 20
REMOVED_SHOWN = 10  # product ids listed per rule in the table; --json has them all
SHOW = "show"


class _CustomerOrCommand(TyperGroup):
    """`audit CUSTOMER ...` runs `audit show CUSTOMER ...`; `audit purge ...` stays a command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands:
            args = [SHOW, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_CustomerOrCommand,
    no_args_is_help=True,
    help="The decision log: `audit CUSTOMER` shows what a customer was shown and why; "
    "`audit purge` deletes old decisions.",
)


@app.command(SHOW)
def show_command(
    customer: Annotated[str, typer.Argument(help="customer id")],
    since: Annotated[
        str | None, typer.Option(help="only decisions from this ISO date/time (no offset = UTC)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="newest decisions shown at most")] = (
        DEFAULT_LIMIT
    ),
    as_json: Annotated[bool, typer.Option("--json", help="JSON (one array) instead of tables")] = (
        False
    ),
) -> None:
    """Logged Recommend answers for CUSTOMER, newest first (exit 1 when there are none)."""
    moment = _parse_since(since)
    with _store() as store:
        found = store.for_customer(customer, since=moment, limit=limit)
    if as_json:
        typer.echo(json.dumps([_as_json(d) for d in found], indent=2))
    elif found:
        for d in found:
            console.print(_table(d))
        console.print(f"{len(found)} decision(s) for customer {escape(customer)!r}, newest first")
    else:
        after = f" since {moment.isoformat()}" if moment else ""
        console.print(f"no decisions logged for customer {escape(customer)!r}{after}")
    if not found:
        raise typer.Exit(EXIT_NOTHING_FOUND)


@app.command("purge")
def purge_command(
    older_than_days: Annotated[
        int, typer.Option("--older-than-days", min=0, help="delete decisions older than N days")
    ],
) -> None:
    """Delete decisions made more than N days ago; print how many."""
    cutoff = datetime.now(UTC) - timedelta(days=older_than_days)
    with _store() as store:
        n = store.purge(cutoff)
    console.print(f"purged {n} decision(s) made before {cutoff.isoformat(timespec='seconds')}")


@contextmanager
def _store() -> Iterator[DecisionStore]:
    """The decision store of RECSYS_DATABASE_URL; store errors end the command with a message."""
    store = None
    try:
        store = open_decision_store(Settings().resolved_database_url)
        yield store
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    except ValueError as exc:  # a database URL of an unsupported kind
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc
    finally:
        if store is not None:
            store.close()


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:  # a bare date counts from its midnight
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date/time: {text!r}", param_hint="--since") from exc


def _table(d: Decision) -> Table:
    when = d.at.strftime("%Y-%m-%d %H:%M:%S UTC")
    title = (
        f"{when} · {escape(d.channel)} · request {escape(d.request_id)} · "
        f"model {escape(d.model_version)}"
    )
    if not d.known:
        title += " · [yellow]unknown customer (the model's fallback answered)[/]"
    table = Table(
        title=title, title_justify="left", caption=_removed_text(d.removed), caption_justify="left"
    )
    table.add_column("rank", justify="right")
    table.add_column("product")
    table.add_column("score", justify="right")
    table.add_column("reasons")
    table.add_column("offer")
    for item in d.items:
        product = escape(str(item.get("product_id", "")))
        if item.get("name"):
            product += f" [dim]{escape(str(item['name']))}[/]"
        reasons = "\n".join(
            f"[bold]{escape(r['code'])}[/]: {escape(r['text'])}" for r in item.get("reasons", [])
        )
        score = item.get("score")
        table.add_row(
            str(item.get("rank", "")),
            product,
            f"{score:.4f}" if isinstance(score, float | int) else "",
            reasons,
            escape(item.get("offer_id") or "-"),
        )
    return table


def _removed_text(removed: dict[str, list[str]]) -> str:
    if not removed:
        return "removed by rules: nothing"
    parts = []
    for rule, ids in sorted(removed.items()):
        shown = ", ".join(escape(p) for p in ids[:REMOVED_SHOWN])
        more = f", +{len(ids) - REMOVED_SHOWN} more" if len(ids) > REMOVED_SHOWN else ""
        parts.append(f"[bold]{escape(rule)}[/] ({len(ids)}): {shown}{more}")
    return "removed by rules: " + "; ".join(parts)


def _as_json(d: Decision) -> dict[str, Any]:
    return {
        "request_id": d.request_id,
        "at": d.at.isoformat(),
        "customer_id": d.customer_id,
        "channel": d.channel,
        "model_version": d.model_version,
        "known": d.known,
        "items": d.items,
        "removed": d.removed,
    }
