"""Alembic's migrations and the fresh-create path produce the same schema."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shipway.store import schema
from shipway.store.database import HEAD_REVISION, Database
from shipway.store.migrate import MIGRATIONS, upgrade


def test_head_revision_constant_matches_the_migrations() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrated_schema_equals_the_models(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
        assert diff == []
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            == HEAD_REVISION
        )
        triggers = (
            conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            .scalars()
            .all()
        )
    assert sorted(triggers) == ["audit_log_no_delete", "audit_log_no_update"]


def test_an_older_store_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a store from before any migration: just the version table
        conn.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
    engine.dispose()
    db = Database(url)
    with db.read() as conn:
        assert sa.inspect(conn).has_table("audit_log")
    db.dispose()


def test_fresh_store_is_created_at_head(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'new.db'}")
    with db.read() as conn:
        assert (
            conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            == HEAD_REVISION
        )
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    assert diff == []
    db.dispose()
