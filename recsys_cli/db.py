"""`recsys db upgrade|downgrade|current`: the store's schema migrations (RECSYS_DATABASE_URL).

Servers and commands upgrade the store on their own when they open it; these commands are for
operators who migrate ahead of a deploy, or roll a schema back.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
import typer
from rich.markup import escape

from recsys.settings import Settings
from recsys.stores.db import make_engine
from recsys.stores.migrate import current_revision, downgrade, head_revision, upgrade
from recsys_cli.console import console, err_console

app = typer.Typer(no_args_is_help=True, help="Schema migrations of the store.")


def _engine() -> tuple[sa.Engine, str]:
    url = Settings().resolved_database_url
    return make_engine(url), sa.make_url(url).render_as_string(hide_password=True)


@app.command("current")
def current_command() -> None:
    """The revision the store is at, and the newest this code knows."""
    engine, shown = _engine()
    at = _guard(lambda: current_revision(engine), shown)
    console.print(f"{escape(shown)}: at {at or 'nothing (empty store)'}, head {head_revision()}")


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
) -> None:
    """Migrate the store up to REVISION (default: head)."""
    engine, shown = _engine()
    _guard(lambda: upgrade(engine, revision), shown)
    console.print(f"{escape(shown)}: at {current_revision(engine)}")


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="target revision; 'base' drops every table")],
    yes: Annotated[
        bool, typer.Option("--yes", help="confirm: tables above REVISION are dropped")
    ] = False,
) -> None:
    """Migrate the store down to REVISION (drops the tables of later revisions, with their rows)."""
    if not yes:
        err_console.print("downgrade drops tables and their rows; run again with --yes to confirm")
        raise typer.Exit(2)
    engine, shown = _engine()
    _guard(lambda: downgrade(engine, revision), shown)
    console.print(f"{escape(shown)}: at {current_revision(engine) or 'nothing (empty store)'}")


def _guard(step, shown: str):  # type: ignore[no-untyped-def]
    try:
        return step()
    except sa.exc.OperationalError as exc:
        err_console.print(f"store {escape(shown)} unavailable: {exc.orig}")
        raise typer.Exit(1) from exc
    except Exception as exc:  # alembic: unknown revision and the like
        if type(exc).__module__.startswith("alembic"):
            err_console.print(f"store {escape(shown)}: {escape(str(exc))}")
            raise typer.Exit(2) from exc
        raise
