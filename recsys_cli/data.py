"""`recsys data ...`: each command lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from recsys_cli import data_describe, data_generate, data_import, data_prepare, data_validate

app = typer.Typer(no_args_is_help=True)
for _module in (data_validate, data_describe, data_import, data_generate, data_prepare):
    _module.register(app)
