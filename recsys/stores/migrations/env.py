"""Alembic environment: runs on the connection `recsys.stores.migrate` hands over.

Run through `recsys db upgrade` (or any store opener), not the `alembic` command: the URL,
engine tuning and locking live in `recsys.stores.migrate`.
"""

from __future__ import annotations

from alembic import context

from recsys.stores.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
