"""Leases in the metadata store: one holder at a time for a job that must not run twice.

A holder claims a named lease for some seconds and renews it by claiming again; anyone may
take it once it has expired, so a process that dies hands it on after at most that long. One
conditional UPDATE decides, which both SQLite and PostgreSQL apply atomically: no advisory
locks, and the same code for a laptop and a cluster.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from shipway.errors import Conflict
from shipway.store import schema as t
from shipway.store.database import Database


class LeaseStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, name: str, holder: str, seconds: float, *, now: float | None = None) -> bool:
        """Take or renew ``name`` for ``seconds``; False while someone else holds it."""
        now = time.time() if now is None else now
        table = t.leases
        with self.db.write() as conn:
            taken = conn.execute(
                table.update()
                .where(
                    table.c.name == name,
                    sa.or_(table.c.holder == holder, table.c.expires_at <= now),
                )
                .values(holder=holder, expires_at=now + seconds)
            ).rowcount
            if taken:
                return True
            if conn.execute(sa.select(table.c.name).where(table.c.name == name)).first():
                return False
        try:  # the first claim ever: whoever inserts first holds it
            with self.db.write() as conn:
                conn.execute(
                    table.insert().values(name=name, holder=holder, expires_at=now + seconds)
                )
        except Conflict:  # another holder inserted first
            return False
        return True

    def release(self, name: str, holder: str) -> None:
        """Give the lease up now (a clean shutdown), if ``holder`` has it."""
        with self.db.write() as conn:
            conn.execute(
                t.leases.update()
                .where(t.leases.c.name == name, t.leases.c.holder == holder)
                .values(expires_at=0.0)
            )

    def holder(self, name: str, *, now: float | None = None) -> str | None:
        now = time.time() if now is None else now
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.leases).where(t.leases.c.name == name)).first()
        return row.holder if row is not None and row.expires_at > now else None
