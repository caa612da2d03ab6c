"""The decision log says whether the customer was known to the model (issue 16).

Revision ID: 0009_reasons_known
Revises: 0008_events_product
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_reasons_known"
down_revision = "0008_events_product"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # decisions logged before were not told: they count as known, as most answers are
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("known", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("known")
