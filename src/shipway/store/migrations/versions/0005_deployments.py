"""deployments

Revision ID: 0005_deployments
Revises: 0004_idempotency_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_deployments"
down_revision = "0004_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(length=250), nullable=False),
        sa.Column("model", sa.String(length=250), nullable=False),
        sa.Column("stable", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("candidate", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("sticky_key", sa.String(length=250), nullable=True),
        sa.Column("follow", sa.String(length=250), nullable=True),
        sa.Column("previous", sa.Integer(), nullable=True),
        sa.Column("max_batch", sa.Integer(), nullable=False),
        sa.Column("max_wait_ms", sa.Float(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.String(length=250), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("deployments")
