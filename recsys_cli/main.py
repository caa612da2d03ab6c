"""Root of the `recsys` CLI: a command's module is imported only when that command runs.

`recsys --help` lists the commands from COMMANDS without importing them, and a command's
module imports what only some of its paths need (mlflow, polars, the model stack) inside
them: `recsys --help`, `recsys recommend --server ...` and `recsys offers list` start
without loading mlflow or polars (bench/cli_start.py measures it).
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Final

# implicit warns (and slows down) when OpenBLAS runs its own threads next to implicit's.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402
import typer  # noqa: E402
from typer.core import TyperGroup  # noqa: E402

# name -> (module, one line of help). A module holds a typer `app` (a group of commands) or
# a `register(app)` that adds its one command to the root.
COMMANDS: Final = {
    "data": ("recsys_cli.data", "Import, generate, validate and describe datasets."),
    "train": (
        "recsys_cli.train",
        "Validate, split, fit, evaluate against popularity, log to MLflow; register/promote.",
    ),
    "tune": ("recsys_cli.tune", "Search one family's hyper-parameters; write a train.toml."),
    "models": ("recsys_cli.models", "Registered versions: list, promote, rollback."),
    "serve": ("recsys_cli.serve", "Serve the champion over gRPC until SIGTERM/Ctrl-C."),
    "recommend": ("recsys_cli.recommend", "Top-k next-best products with reasons."),
    "simulate": (
        "recsys_cli.simulate",
        "Play a generated bank's customers against a running server (clicks, purchases).",
    ),
    "offers": ("recsys_cli.offers", "Marketing offers: create, change, list, measure."),
    "experiments": (
        "recsys_cli.experiments",
        "Online experiments: champion vs challenger/control, lift, SRM, conclude.",
    ),
    "campaign": (
        "recsys_cli.campaign",
        "Outbound campaigns: score every targeted customer under the contact policy; stats.",
    ),
    "keys": ("recsys_cli.keys", "API keys of client applications."),
    "events": ("recsys_cli.events", "The feedback event log: export."),
    "customers": ("recsys_cli.customers", "Customers' personal data: erase, prune (retention)."),
    "audit": ("recsys_cli.audit", "Decision log: audit CUSTOMER (what was shown, why)."),
    "db": ("recsys_cli.db", "Schema migrations of the store: current, upgrade, downgrade."),
    "console": ("recsys_cli.web_console", "The marketing web console (a client of the server)."),
}


class _Listed(click.Command):
    """A command as `--help` lists it: its name and help, nothing imported."""


class _CommandsOnDemand(TyperGroup):
    """The root group: commands listed from COMMANDS, each imported when it is resolved."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        text = COMMANDS[cmd_name][1]
        return _Listed(cmd_name, help=text, short_help=text)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Listed):
            command = load_command(name)
        return name, command, rest


def load_command(name: str) -> click.Command:
    """The click command `recsys NAME` runs (its module imported now)."""
    module_name, text = COMMANDS[name]
    module = importlib.import_module(module_name)
    group = getattr(module, "app", None)
    if group is not None:
        command: click.Command = typer.main.get_group(group)  # completion options: root only
    else:
        single = typer.Typer(add_completion=False)
        module.register(single)
        command = typer.main.get_command(single)
    command.name = name
    command.help = command.help or text
    command.short_help = text
    _plain_help(command)
    return command


def _plain_help(command: click.Command) -> None:
    """Click's plain help on `command` and below: rich's panels put `<bool>` after flags."""
    command.rich_markup_mode = None  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


app = typer.Typer(
    name="recsys",
    cls=_CommandsOnDemand,
    help="bank-recsys: next-best-product recommendations for a retail bank.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")
    if not verbose:  # a store's first open migrates it: alembic's INFO lines say nothing to users
        logging.getLogger("alembic").setLevel(logging.WARNING)


if __name__ == "__main__":
    app()
