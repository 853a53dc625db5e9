"""Dataset versions: content-addressed snapshots, numbered per name, and the runs that used them."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import NotFound
from shipway.store import schema as t
from shipway.store.database import Database
from shipway.store.statements import next_number, upsert
from shipway.store.validation import check_key
from shipway.types import DatasetVersion


class DatasetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add_version(
        self, name: str, *, actor: str, description: str = "", **fields: Any
    ) -> tuple[DatasetVersion, bool]:
        """Record a version; the same content under the same name returns the existing one.

        Returns the version and whether it is new.
        """
        check_key(name, "dataset")
        now = time.time()
        with self.db.write() as conn:
            conn.execute(
                upsert(
                    conn,
                    t.datasets,
                    [{"name": name, "created_at": now, "description": ""}],
                    ["name"],
                    ["name"],
                )
            )
            existing = conn.execute(
                sa.select(t.dataset_versions.c.version).where(
                    t.dataset_versions.c.name == name,
                    t.dataset_versions.c.digest == fields["digest"],
                )
            ).scalar()
            if existing is not None:
                return self._version(conn, name, existing), False
            if conn.dialect.name == "postgresql":  # serialise numbering per dataset
                conn.execute(
                    sa.select(t.datasets.c.name).where(t.datasets.c.name == name).with_for_update()
                )
            version = next_number(
                conn, t.dataset_versions.c.version, t.dataset_versions.c.name, name
            )
            conn.execute(
                t.dataset_versions.insert().values(
                    name=name,
                    version=version,
                    created_at=now,
                    created_by=actor,
                    description=description,
                    **fields,
                )
            )
            return self._version(conn, name, version), True

    def get_version(self, name: str, version: int | None = None) -> DatasetVersion:
        with self.db.read() as conn:
            if version is None:
                version = conn.execute(
                    sa.select(sa.func.max(t.dataset_versions.c.version)).where(
                        t.dataset_versions.c.name == name
                    )
                ).scalar()
                if version is None:
                    raise NotFound(f"no dataset named {name!r}", hint="see `shipway data list`")
            return self._version(conn, name, version)

    def list_datasets(self) -> list[tuple[str, int, float]]:
        """Every dataset with its newest version number and when that version was made."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(
                    t.dataset_versions.c.name,
                    sa.func.max(t.dataset_versions.c.version),
                    sa.func.max(t.dataset_versions.c.created_at),
                )
                .group_by(t.dataset_versions.c.name)
                .order_by(t.dataset_versions.c.name)
            ).all()
        return [(r[0], int(r[1]), float(r[2])) for r in rows]

    def list_versions(self, name: str) -> list[DatasetVersion]:
        with self.db.read() as conn:
            versions = (
                conn.execute(
                    sa.select(t.dataset_versions.c.version)
                    .where(t.dataset_versions.c.name == name)
                    .order_by(t.dataset_versions.c.version)
                )
                .scalars()
                .all()
            )
            if not versions:
                raise NotFound(f"no dataset named {name!r}", hint="see `shipway data list`")
            return [self._version(conn, name, v) for v in versions]

    def find(self, name: str, digest: str) -> DatasetVersion | None:
        """The version of ``name`` with this content, if it was stored."""
        with self.db.read() as conn:
            version = conn.execute(
                sa.select(t.dataset_versions.c.version).where(
                    t.dataset_versions.c.name == name, t.dataset_versions.c.digest == digest
                )
            ).scalar()
            return self._version(conn, name, version) if version is not None else None

    def runs_using(self, name: str, digest: str) -> list[tuple[str, str]]:
        """(run id, role) of every run that recorded this content as an input."""
        with self.db.read() as conn:
            rows = conn.execute(
                sa.select(t.run_inputs.c.run_id, t.run_inputs.c.role)
                .where(t.run_inputs.c.name == name, t.run_inputs.c.digest == digest)
                .order_by(t.run_inputs.c.run_id)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def _version(self, conn: Connection, name: str, version: int) -> DatasetVersion:
        row = conn.execute(
            sa.select(t.dataset_versions).where(
                t.dataset_versions.c.name == name, t.dataset_versions.c.version == int(version)
            )
        ).first()
        if row is None:
            if not conn.execute(
                sa.select(t.datasets.c.name).where(t.datasets.c.name == name)
            ).first():
                raise NotFound(f"no dataset named {name!r}", hint="see `shipway data list`")
            raise NotFound(
                f"dataset {name!r} has no version {version}", hint=f"see `shipway data show {name}`"
            )
        return DatasetVersion(
            row.name,
            row.version,
            row.digest,
            row.kind,
            row.format,
            row.size,
            row.files,
            row.rows,
            row.object_key,
            row.source,
            row.created_at,
            row.created_by,
            row.description,
            row.schema,
            row.profile,
        )
