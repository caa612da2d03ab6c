"""An index of events by product and time: exploration counts new products' events.

Revision ID: 0007_events_product
Revises: 0006_campaigns
"""

from __future__ import annotations

from alembic import op

revision = "0007_events_product"
down_revision = "0006_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_product_timestamp", "events", ["product_id", "timestamp"])


def downgrade() -> None:
    op.drop_index("ix_events_product_timestamp", table_name="events")
