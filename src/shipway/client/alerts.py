"""Alerts through ``shipway server``."""

from __future__ import annotations

from shipway.client.deployments import seg, transport_of
from shipway.services import AlertBackend
from shipway.session import Session
from shipway.types import Alert, from_plain


class RemoteAlerts(AlertBackend):
    def __init__(self, session: Session) -> None:
        self.transport = transport_of(session)

    def list(self, *, deployment: str | None = None, include_resolved: bool = False) -> list[Alert]:
        params: dict[str, object] = {"all": str(include_resolved).lower()}
        if deployment is not None:
            params["deployment"] = deployment
        return [from_plain(Alert, a) for a in self.transport.json("GET", "/alerts", params=params)]

    def get(self, alert_id: int) -> Alert:
        return from_plain(Alert, self.transport.json("GET", f"/alerts/{int(alert_id)}"))

    def acknowledge(self, alert_id: int) -> Alert:
        return from_plain(Alert, self.transport.json("POST", f"/alerts/{int(alert_id)}/ack"))

    def resolve(self, alert_id: int) -> Alert:
        return from_plain(Alert, self.transport.json("POST", f"/alerts/{int(alert_id)}/resolve"))


__all__ = ["RemoteAlerts", "seg"]
