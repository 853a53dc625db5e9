"""model version files: the hashes pinned at registration

Revision ID: 0008_model_files
Revises: 0007_leases

Each registered version keeps the path and hash of every file of its model, as they were
when it was registered; loading checks these, not the run's artifact records, so a later
write to the run cannot change what a version is. Versions registered before this revision
are pinned to the records as they stand at upgrade time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_model_files"
down_revision = "0007_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("files", sa.JSON(), nullable=True))
    conn = op.get_bind()
    versions = sa.table(
        "model_versions",
        sa.column("name", sa.String),
        sa.column("version", sa.Integer),
        sa.column("source", sa.Text),
        sa.column("run_id", sa.String),
        sa.column("files", sa.JSON),
    )
    artifacts = sa.table(
        "artifacts",
        sa.column("run_id", sa.String),
        sa.column("path", sa.String),
        sa.column("digest", sa.String),
    )
    for row in conn.execute(sa.select(versions)).all():
        if not row.run_id or not row.source.startswith("runs:/"):
            continue
        folder = row.source.split("/", 2)[2].strip("/")
        records = conn.execute(
            sa.select(artifacts.c.path, artifacts.c.digest).where(artifacts.c.run_id == row.run_id)
        ).all()
        files = {p: d for p, d in records if p == folder or p.startswith(folder + "/")}
        conn.execute(
            versions.update()
            .where(versions.c.name == row.name, versions.c.version == row.version)
            .values(files=files)
        )


def downgrade() -> None:
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("files")
