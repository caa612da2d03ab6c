"""Root of the `recsys` CLI; each area registers its own sub-command group."""

from __future__ import annotations

import logging
import os

# implicit warns (and slows down) when OpenBLAS runs its own threads next to implicit's.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer  # noqa: E402

from recsys_cli import data, events, models, recommend, serve, train, tune  # noqa: E402

app = typer.Typer(
    name="recsys",
    help="bank-recsys: next-best-product recommendations for a retail bank.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data", help="Import, generate, validate and describe datasets.")
app.add_typer(models.app, name="models", help="Registered versions: list, promote, rollback.")
app.add_typer(events.app, name="events", help="The feedback event log: export.")
train.register(app)
recommend.register(app)
tune.register(app)
serve.register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


if __name__ == "__main__":
    app()
