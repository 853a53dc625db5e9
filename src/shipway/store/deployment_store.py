"""Deployments: what each one serves and how it routes. Every change is one transaction that
also appends to the audit log; the decision itself is a pure function handed in."""

from __future__ import annotations

import builtins
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from shipway.errors import NotFound
from shipway.store import schema as t
from shipway.store.audit import append_event
from shipway.store.database import Database
from shipway.types import Deployment, Strategy

Decision = Callable[[Deployment | None], Deployment]
# Runs in the change's transaction with the record before and after, to check or follow it.
Consequence = Callable[[Connection, Deployment | None, Deployment], None]


def deployment_entity(name: str) -> str:
    return f"deployment:{name}"


def _summary(d: Deployment | None) -> str | None:
    if d is None:
        return None
    keep = ("model", "stable", "strategy", "candidate", "weight", "sticky_key", "follow")
    return json.dumps({k: getattr(d, k) for k in keep})


class DeploymentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def find(self, name: str) -> Deployment | None:
        with self.db.read() as conn:
            return self._find(conn, name)

    def get(self, name: str) -> Deployment:
        found = self.find(name)
        if found is None:
            raise NotFound(
                f"no deployment {name!r}",
                hint="create it with `shipway deploy create NAME --model MODEL --version N`",
            )
        return found

    def list(self) -> list[Deployment]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.deployments).order_by(t.deployments.c.name)).all()
        return [_record(r) for r in rows]

    def revisions(self, names: builtins.list[str]) -> dict[str, int]:
        """Each deployment's revision: the cheap query servers poll."""
        query = sa.select(t.deployments.c.name, t.deployments.c.revision).where(
            t.deployments.c.name.in_(names)
        )
        with self.db.read() as conn:
            return {name: revision for name, revision in conn.execute(query).all()}

    def change(
        self,
        name: str,
        decide: Decision,
        *,
        actor: str,
        action: str,
        reason: str = "",
        also: Consequence | None = None,
    ) -> Deployment:
        """Apply ``decide`` to the stored record (None if absent) and store its answer;
        ``also`` runs in the same transaction, so a refusal there leaves nothing changed."""
        with self.db.write() as conn:
            before = self._find(conn, name)
            after = decide(before)
            if also is not None:
                also(conn, before, after)
            after = dataclasses.replace(
                after,
                name=name,
                revision=(before.revision + 1) if before else 1,
                updated_at=time.time(),
                updated_by=actor,
            )
            values = {f.name: getattr(after, f.name) for f in dataclasses.fields(after)}
            values["strategy"] = after.strategy.value
            if before is None:
                conn.execute(t.deployments.insert().values(**values))
            else:
                conn.execute(
                    t.deployments.update().where(t.deployments.c.name == name).values(**values)
                )
            append_event(
                conn,
                actor,
                deployment_entity(name),
                action,
                _summary(before),
                _summary(after),
                reason,
                {"revision": after.revision},
            )
        return after

    def _find(self, conn: Connection, name: str) -> Deployment | None:
        row = conn.execute(sa.select(t.deployments).where(t.deployments.c.name == name)).first()
        return _record(row) if row else None


def _record(row: sa.Row[Any]) -> Deployment:
    data = dict(row._mapping)
    data["strategy"] = Strategy(data["strategy"])
    return Deployment(**data)
