"""Root of the `recsys` CLI; each area registers its own sub-command group."""

from __future__ import annotations

import logging
import os

# implicit warns (and slows down) when OpenBLAS runs its own threads next to implicit's.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer  # noqa: E402

from recsys_cli import (  # noqa: E402
    audit,
    data,
    db,
    events,
    keys,
    models,
    offers,
    recommend,
    serve,
    train,
    tune,
)

app = typer.Typer(
    name="recsys",
    help="bank-recsys: next-best-product recommendations for a retail bank.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(data.app, name="data", help="Import, generate, validate and describe datasets.")
app.add_typer(models.app, name="models", help="Registered versions: list, promote, rollback.")
app.add_typer(
    db.app, name="db", help="Schema migrations of the store: current, upgrade, downgrade."
)
app.add_typer(events.app, name="events", help="The feedback event log: export.")
app.add_typer(keys.app, name="keys", help="API keys of client applications.")
app.add_typer(offers.app, name="offers", help="Marketing offers: create, change, list, measure.")
app.add_typer(audit.app, name="audit", help="Decision log: audit CUSTOMER (what was shown, why).")
train.register(app)
recommend.register(app)
tune.register(app)
serve.register(app)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="debug logging")) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s")


if __name__ == "__main__":
    app()
