"""Events carry the channel's own event id and who sent it, unique together (retries dedupe).

Revision ID: 0005_harden
Revises: 0004_erase
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_harden"
down_revision = "0004_erase"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("source", sa.String(128), nullable=False, server_default=""))
    op.add_column("events", sa.Column("event_id", sa.String(128), nullable=True))
    op.create_index("ux_events_source_event_id", "events", ["source", "event_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_events_source_event_id", table_name="events")
    with op.batch_alter_table("events") as batch:  # SQLite drops columns by copying the table
        batch.drop_column("event_id")
        batch.drop_column("source")
