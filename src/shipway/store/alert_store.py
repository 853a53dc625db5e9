"""Alerts: opened by monitoring, kept with their evidence, acknowledged or resolved."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from shipway.errors import InvalidArgument, NotFound
from shipway.store import schema as t
from shipway.store.database import Database
from shipway.types import Alert

OPEN = ("open", "acknowledged")


class AlertStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def open_alert(self, deployment: str, rule: str) -> Alert | None:
        query = sa.select(t.alerts).where(
            t.alerts.c.deployment == deployment,
            t.alerts.c.rule == rule,
            t.alerts.c.status.in_(OPEN),
        )
        with self.db.read() as conn:
            row = conn.execute(query.order_by(t.alerts.c.alert_id.desc())).first()
        return _alert(row) if row else None

    def open(
        self,
        *,
        rule: str,
        deployment: str,
        severity: str,
        metric: str,
        value: float | None,
        threshold: float,
        window: str,
        evidence: dict[str, Any],
    ) -> Alert:
        now = time.time()
        values = {
            "rule": rule,
            "deployment": deployment,
            "severity": severity,
            "status": "open",
            "metric": metric,
            "value": value,
            "threshold": threshold,
            "window": window,
            "evidence": evidence,
            "fired_value": value,
            "fired_window": window,
            "opened_at": now,
            "updated_at": now,
        }
        with self.db.write() as conn:
            key = conn.execute(t.alerts.insert().values(**values)).inserted_primary_key
            assert key is not None
            alert_id = key[0]
        return self.get(int(alert_id))

    def update(self, alert_id: int, *, value: float | None, window: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.alerts.update()
                .where(t.alerts.c.alert_id == alert_id)
                .values(value=value, window=window, updated_at=time.time())
            )

    def set_status(self, alert_id: int, status: str, *, user: str | None = None) -> Alert:
        current = self.get(alert_id)
        if current.status == "resolved":
            raise InvalidArgument(f"alert {alert_id} is already resolved")
        now = time.time()
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "resolved":
            values["resolved_at"] = now
        if status == "acknowledged":
            values["acknowledged_by"] = user
        with self.db.write() as conn:
            conn.execute(t.alerts.update().where(t.alerts.c.alert_id == alert_id).values(**values))
        return self.get(alert_id)

    def get(self, alert_id: int) -> Alert:
        with self.db.read() as conn:
            row = conn.execute(sa.select(t.alerts).where(t.alerts.c.alert_id == alert_id)).first()
        if row is None:
            raise NotFound(f"no alert {alert_id}", hint="see `shipway alerts list --all`")
        return _alert(row)

    def list(self, *, include_resolved: bool = False, deployment: str | None = None) -> list[Alert]:
        query = sa.select(t.alerts).order_by(t.alerts.c.alert_id.desc())
        if not include_resolved:
            query = query.where(t.alerts.c.status.in_(OPEN))
        if deployment is not None:
            query = query.where(t.alerts.c.deployment == deployment)
        with self.db.read() as conn:
            return [_alert(r) for r in conn.execute(query.limit(1000)).all()]


def _alert(row: Any) -> Alert:
    data = dict(row._mapping)
    data["evidence"] = dict(data["evidence"] or {})
    return Alert(**data)
