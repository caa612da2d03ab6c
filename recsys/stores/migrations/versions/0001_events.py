"""Baseline: the event log.

Stores created before migrations existed already hold this table (made by create_all); the
baseline then only records itself, so upgrading such a store keeps every event.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("events"):
        return
    op.create_table(
        "events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("product_id", sa.String(128), nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("amount", sa.Double(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("offer_id", sa.String(128), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_events_customer_timestamp", "events", ["customer_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_events_customer_timestamp", table_name="events")
    op.drop_table("events")
