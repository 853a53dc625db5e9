"""candidate policy: which rollout strategies may run a version that has not passed the policy

Revision ID: 0010_candidate_policy
Revises: 0009_idempotency_leases

Serving production traffic is production, so a version becomes a deployment's stable
version only when it passes the model's policy. A version that has not may still run as a
candidate in the strategies listed here: by default in shadow (no caller sees its answers)
and blue-green (it is loaded and warm, and takes traffic only on a promotion, which is checked).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_candidate_policy"
down_revision = "0009_idempotency_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registered_models") as batch:
        batch.add_column(
            sa.Column(
                "unapproved_strategies",
                sa.String(100),
                nullable=False,
                server_default="shadow,blue-green",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("registered_models") as batch:
        batch.drop_column("unapproved_strategies")
