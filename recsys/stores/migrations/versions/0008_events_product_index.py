"""An index of events by product and time: exploration counts new products' events.

Revision ID: 0008_events_product
Revises: 0007_experiments
"""

from __future__ import annotations

from alembic import op

revision = "0008_events_product"
down_revision = "0007_experiments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_product_timestamp", "events", ["product_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_events_product_timestamp", table_name="events")
