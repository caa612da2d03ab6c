"""Outbound contacts of campaigns, and the per-customer rows their reservations lock.

Revision ID: 0006_campaigns
Revises: 0005_harden
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_campaigns"
down_revision = "0005_harden"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("campaign", sa.String(128), nullable=False),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("product_id", sa.String(128), nullable=False),
        sa.Column("offer_id", sa.String(128), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_contacts_customer_at", "contacts", ["customer_id", "at"])
    op.create_index("ix_contacts_campaign", "contacts", ["campaign"])
    op.create_index("ix_contacts_request", "contacts", ["request_id"])
    op.create_table(
        "contact_locks",
        sa.Column("customer_id", sa.String(128), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contact_locks")
    op.drop_index("ix_contacts_request", table_name="contacts")
    op.drop_index("ix_contacts_campaign", table_name="contacts")
    op.drop_index("ix_contacts_customer_at", table_name="contacts")
    op.drop_table("contacts")
