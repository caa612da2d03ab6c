"""Marketing offers: offers, their customer lists, audit trail and delivered slots.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "offers",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("product_id", sa.String(128), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column("income_bands", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("regions", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("min_risk_tolerance", sa.Integer(), nullable=True),
        sa.Column("has_customer_list", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("channels", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("start_at", _TS, nullable=False),
        sa.Column("end_at", _TS, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("boost", sa.Double(), nullable=True),
        sa.Column("pin", sa.Integer(), nullable=True),
        sa.Column("max_share", sa.Double(), nullable=False, server_default="1.0"),
        sa.Column("cap_impressions", sa.Integer(), nullable=True),
        sa.Column("cap_days", sa.Integer(), nullable=True),
        sa.Column("volume_cap", sa.Integer(), nullable=True),
        sa.Column("volume_event", sa.String(64), nullable=False, server_default="impression"),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.UniqueConstraint("name", name="uq_offers_name"),
    )
    op.create_table(
        "offer_customers",
        sa.Column(
            "offer_id",
            sa.String(128),
            sa.ForeignKey("offers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("customer_id", sa.String(128), primary_key=True),
    )
    op.create_table(
        "offer_audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("offer_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
    )
    op.create_index("ix_offer_audit_offer", "offer_audit", ["offer_id", "at"])
    op.create_table(
        "offer_deliveries",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("offer_id", sa.String(128), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index(
        "ix_offer_deliveries_offer_customer",
        "offer_deliveries",
        ["offer_id", "customer_id", "at"],
    )
    op.create_index("ix_offer_deliveries_request", "offer_deliveries", ["request_id"])
    op.create_index("ix_events_request_id", "events", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_events_request_id", table_name="events")
    op.drop_table("offer_deliveries")
    op.drop_table("offer_audit")
    op.drop_table("offer_customers")
    op.drop_table("offers")
