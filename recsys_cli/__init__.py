"""The `recsys` command line: one typer app with a sub-command group per area."""
