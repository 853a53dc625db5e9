"""loop states: each continuous-training loop's state, kept for the next controller round

Revision ID: 0013_loop_states
Revises: 0012_alert_fired_value
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_loop_states"
down_revision = "0012_alert_fired_value"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "loop_states",
        sa.Column("deployment", sa.String(length=250), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.Column("candidate", sa.Integer(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_started_at", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("deployment"),
    )


def downgrade() -> None:
    op.drop_table("loop_states")
