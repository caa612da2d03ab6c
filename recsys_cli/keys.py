"""`recsys keys create|list|revoke`: API keys of client applications (RECSYS_DATABASE_URL).

The clear key is printed once, by `create`, as the last word of its last line; the store keeps
only a salted hash of it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from recsys.security.roles import ADMIN, CHANNEL, MARKETING
from recsys.settings import Settings
from recsys.stores.base import StoreUnavailable
from recsys.stores.sql_keys import KeyExists, KeyNotFound, SqlKeyStore, open_key_store
from recsys_cli.console import console, err_console

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="API keys: create, list, revoke.")


class Role(StrEnum):
    """What a key may call: channel apps, the offers API, or everything."""

    channel = CHANNEL
    marketing = MARKETING
    admin = ADMIN


@app.command("create")
def create_command(
    name: Annotated[str, typer.Option("--name", help="client application, unique")],
    role: Annotated[Role, typer.Option("--role", help="channel, marketing or admin")],
) -> None:
    """Create a key for NAME with ROLE and print it (once: it cannot be shown again)."""
    record, text = _with_store(lambda store: store.create(name, role.value))
    console.print(
        f"created API key {escape(repr(record.name))} (id {record.id}, role {record.role}); "
        "it is shown only now, store it in the client's secret store:",
        soft_wrap=True,
        highlight=False,
    )
    console.print(f"key: {text}", soft_wrap=True, highlight=False, markup=False)


@app.command("list")
def list_command() -> None:
    """Every key: id, name, role, created, revoked (never the key itself)."""
    records = _with_store(lambda store: store.list_keys())
    table = Table(title=f"{len(records)} API key(s)")
    for col in ("id", "name", "role", "created", "revoked"):
        # ids never wrap (they are copied into `revoke`); names keep some room
        table.add_column(
            col, overflow="fold", no_wrap=col == "id", min_width=12 if col == "name" else None
        )
    for r in records:
        table.add_row(r.id, escape(r.name), r.role, _when(r.created_at), _when(r.revoked_at))
    console.print(table)


@app.command("revoke")
def revoke_command(
    id_or_name: Annotated[str, typer.Argument(help="the key's id or name")],
) -> None:
    """Revoke a key; servers refuse it once their key cache expires (RECSYS_AUTH_CACHE_SECONDS)."""
    before = _with_store(lambda store: store.get(id_or_name))
    record = before if before.revoked else _with_store(lambda store: store.revoke(before.id))
    verb = "was already revoked" if before.revoked else "revoked"
    console.print(
        f"API key {escape(repr(record.name))} (id {record.id}) {verb} "
        f"at {_when(record.revoked_at)}",
        soft_wrap=True,
        highlight=False,
    )


def _with_store(action: Callable[[SqlKeyStore], T]) -> T:
    with _errors():
        store = open_key_store(Settings().resolved_database_url)
        try:
            return action(store)
        finally:
            store.close()


@contextmanager
def _errors() -> Iterator[None]:
    """Store errors -> exit 1, wrong input -> exit 2, each with its message on stderr."""
    try:
        yield
    except StoreUnavailable as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_UNAVAILABLE) from exc
    except (KeyNotFound, KeyExists, ValueError) as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from exc


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")
