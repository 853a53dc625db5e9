"""Counts of what a store holds, in a few queries: the evidence ``shipway maturity`` reads."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shipway.store import schema as t
from shipway.store.database import Database

ROLLOUTS = ("deploy:canary", "deploy:shadow", "deploy:ab", "deploy:blue-green")


def inventory(db: Database, *, automated_by: str = "shipway-controller") -> dict[str, int]:
    """How many runs, pipeline runs, models, versions in production, approvals, policies,
    deployments, deploys by the controller, canary or shadow rollouts, alerts, dataset
    versions and loop trainings the store holds."""

    def count(table: Any, *where: Any) -> Any:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    audit = t.audit_log
    query = sa.select(
        count(t.runs).label("runs"),
        count(t.tags, t.tags.c.key == "shipway.pipeline").label("pipeline_runs"),
        count(t.registered_models).label("models"),
        count(t.model_versions).label("versions"),
        count(t.model_versions, t.model_versions.c.stage == "production").label("in_production"),
        count(t.approvals).label("approvals"),
        count(t.registered_models, t.registered_models.c.required_approvals > 0).label("policies"),
        count(t.deployments).label("deployments"),
        count(audit, audit.c.entity.like("deployment:%"), audit.c.actor == automated_by).label(
            "automated_deploys"
        ),
        count(audit, audit.c.action.in_(ROLLOUTS)).label("progressive_rollouts"),
        count(t.alerts).label("alerts"),
        count(t.dataset_versions).label("dataset_versions"),
        count(audit, audit.c.entity.like("loop:%"), audit.c.action == "loop:training").label(
            "loop_trainings"
        ),
    )
    with db.read() as conn:
        row = conn.execute(query).one()
    return {key: int(value) for key, value in row._mapping.items()}
