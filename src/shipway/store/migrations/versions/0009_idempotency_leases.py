"""idempotency leases: a claim is held while its request runs, and knows if it was applied

Revision ID: 0009_idempotency_leases
Revises: 0008_model_files

A claim's lease is renewed while its request runs, so a claim left by a server that died
is taken over seconds later, not after ten minutes. ``applied`` is set inside the request's
own write transaction, so a retry of a request that was stored but never answered is not
applied twice.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_idempotency_leases"
down_revision = "0008_model_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("lease_until", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("applied", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("applied")
        batch.drop_column("lease_until")
