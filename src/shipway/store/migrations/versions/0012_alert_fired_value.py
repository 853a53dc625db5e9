"""alerts keep the value and window that fired them beside the latest ones

Revision ID: 0012_alert_fired_value
Revises: 0011_metric_nan

An open alert's value and window follow the latest window judged, which read as a
contradiction beside the window that fired it. Alerts opened before this revision take
their stored value and window as the firing ones: the best that is known of them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_alert_fired_value"
down_revision = "0011_metric_nan"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("fired_value", sa.Float))
        batch.add_column(sa.Column("fired_window", sa.String(64)))
    op.execute(sa.text('UPDATE alerts SET fired_value = value, fired_window = "window"'))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("fired_window")
        batch.drop_column("fired_value")
