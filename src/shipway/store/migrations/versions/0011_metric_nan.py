"""metric values may be NaN: a diverging loss is stored, not refused

Revision ID: 0011_metric_nan
Revises: 0010_candidate_policy

NaN is kept as NULL in ``metrics.value`` and ``latest_metrics.value`` (SQLite has no NaN,
and NULL matches no comparison in either database, which is what a search should do with a
NaN). Infinities need no change: both databases store them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_metric_nan"
down_revision = "0010_candidate_policy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("metrics", "latest_metrics"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("value", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    for table in ("metrics", "latest_metrics"):  # the old schema cannot hold a NaN
        op.execute(sa.text(f"DELETE FROM {table} WHERE value IS NULL"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column("value", existing_type=sa.Float(), nullable=False)
