"""Alerts that change set things off: each change is told to its rule's sinks, and a fired
alert runs its rule's action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from shipway.automation.actions import act
from shipway.automation.records import ControlRecords
from shipway.automation.sinks import Outbox
from shipway.monitoring.alerts import AlertChange, AlertLifecycle, payload
from shipway.monitoring.rules import AlertRule
from shipway.services import DeploymentBackend
from shipway.session import Session
from shipway.types import Alert

if TYPE_CHECKING:
    from shipway.monitoring.monitor import WindowReport


class AlertResponder:
    """The alert lifecycle, with its sinks and actions; ``close`` waits for the deliveries."""

    def __init__(
        self, lifecycle: AlertLifecycle, deployments: DeploymentBackend, outbox: Outbox
    ) -> None:
        self.lifecycle = lifecycle
        self.deployments = deployments
        self.outbox = outbox

    def process(self, deployment: str, reports: list[WindowReport], **options: Any) -> list[Alert]:
        """:meth:`AlertLifecycle.process`, then sinks and actions; returns the changed alerts."""
        changes = self.lifecycle.process(deployment, reports, **options)
        for change in changes:
            self.respond(change)
        return [c.alert for c in changes]

    def respond(self, change: AlertChange) -> None:
        if change.event == "fired":
            act(change, self.deployments)
        for sink in change.rule.sinks:
            self.outbox.put(sink, payload(change.event, change.alert))

    @property
    def failed_deliveries(self) -> int:
        return self.outbox.failed_deliveries

    def close(self) -> None:
        self.outbox.close()


def alert_responder(session: Session, rules: Iterable[AlertRule]) -> AlertResponder:
    """The responder over the session's alerts, with ``[monitoring]``'s SMTP and base URL."""

    settings = session.settings.monitoring
    lifecycle = ControlRecords(session).alert_lifecycle(rules, settings.base_url)
    return AlertResponder(lifecycle, session.deployments, Outbox(settings.smtp))
