"""Alerts in the local stores (see :class:`shipway.services.AlertBackend`)."""

from __future__ import annotations

from shipway.services import AlertBackend
from shipway.session import Session
from shipway.store.alert_store import AlertStore
from shipway.types import Alert


class LocalAlerts(AlertBackend):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.store = AlertStore(session.stores.db)

    def list(self, *, deployment: str | None = None, include_resolved: bool = False) -> list[Alert]:
        """Open (and acknowledged) alerts, newest first; all of them with ``include_resolved``."""
        return self.store.list(include_resolved=include_resolved, deployment=deployment)

    def get(self, alert_id: int) -> Alert:
        return self.store.get(alert_id)

    def acknowledge(self, alert_id: int) -> Alert:
        """Someone is on it; the alert still resolves by itself."""
        return self.store.set_status(alert_id, "acknowledged", user=self.session.actor)

    def resolve(self, alert_id: int) -> Alert:
        return self.store.set_status(alert_id, "resolved", user=self.session.actor)
