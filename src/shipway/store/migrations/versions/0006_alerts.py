"""alerts

Revision ID: 0006_alerts
Revises: 0005_deployments
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_alerts"
down_revision = "0005_deployments"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("alert_id", BigId, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=250), nullable=False),
        sa.Column("deployment", sa.String(length=250), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metric", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=250), nullable=True),
        sa.PrimaryKeyConstraint("alert_id"),
    )
    op.create_index("ix_alerts_open", "alerts", ["deployment", "rule", "status"])


def downgrade() -> None:
    op.drop_index("ix_alerts_open", table_name="alerts")
    op.drop_table("alerts")
