"""Experiments and their audit; the decision log's experiment, arm, fallback and latency.

Revision ID: 0007_experiments
Revises: 0006_campaigns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_experiments"
down_revision = "0006_campaigns"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(
            sa.Column("experiment_id", sa.String(128), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("arm", sa.String(64), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("latency_ms", sa.Double(), nullable=True))
    op.create_index("ix_decisions_experiment", "decisions", ["experiment_id", "at"])
    op.create_table(
        "experiments",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("arms", sa.Text(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("start_at", _TS, nullable=False),
        sa.Column("end_at", _TS, nullable=False),
        sa.Column("challenger", sa.String(64), nullable=False),
        sa.Column("control_policy", sa.String(64), nullable=False),
        sa.Column("attribution_days", sa.Double(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("concluded", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "experiment_audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index("ix_experiment_audit_experiment", "experiment_audit", ["experiment_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_experiment_audit_experiment", table_name="experiment_audit")
    op.drop_table("experiment_audit")
    op.drop_table("experiments")
    op.drop_index("ix_decisions_experiment", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("latency_ms")
        batch.drop_column("fallback")
        batch.drop_column("arm")
        batch.drop_column("experiment_id")
