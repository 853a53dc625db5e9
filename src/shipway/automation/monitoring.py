"""Monitoring in the local stores (see :class:`shipway.services.MonitoringBackend`): window
reports, and with alert rules the alerts they raise, told to their sinks and acted on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shipway.automation.responder import alert_responder
from shipway.automation.rounds import MonitoringRounds
from shipway.monitoring.rules import rules_from_settings, verdicts
from shipway.monitoring.service import monitor_with_config
from shipway.services import MonitoringBackend
from shipway.session import Session
from shipway.types import Alert, WindowReport


class LocalMonitoring(MonitoringBackend):
    def __init__(self, session: Session) -> None:
        self.session = session

    def monitor(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        rules: Sequence[Any] | None = None,
        replay: bool = False,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> list[WindowReport]:
        """Every window of the deployment's traffic; ``rules`` (default: ``[[alerts]]``) judge
        the newest window, or every window in order with ``replay``."""
        reports = monitor_with_config(
            self.session,
            deployment,
            window=window,
            label=label,
            sensitive=None if sensitive is None else tuple(sensitive),
            reference=reference,
            start=start,
            end=end,
            source=source,
        )
        chosen = rules_from_settings(self.session.settings) if rules is None else list(rules)
        if rules:  # the caller's own rules: their verdicts, as through a server
            for report in reports:
                report.extra["rules"] = verdicts(chosen, report.to_dict(), window)
        if chosen and reports:
            responder = alert_responder(self.session, chosen)
            try:
                responder.process(deployment, reports, replay=replay, window=window)
            finally:
                responder.close()
        return reports

    def report(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> str:
        """The self-contained HTML report of those windows and the deployment's alerts."""
        from shipway.monitoring.report_html import render

        reports = self.monitor(
            deployment,
            window=window,
            label=label,
            rules=[],
            reference=reference,
            sensitive=sensitive,
            start=start,
            end=end,
            source=source,
        )
        alerts = self.session.alerts.list(deployment=deployment, include_resolved=True)
        return render(deployment, reports, alerts)

    def run_round(self, *, replay: bool = False) -> list[Alert]:
        """One monitoring round over every deployment now, as ``shipway server`` runs them;
        with ``replay`` every window of the traffic is judged in order (a backfill)."""

        rounds = MonitoringRounds(self.session, interval_minutes=0)
        changed = rounds.run_once(replay=replay)
        rounds.upkeep()  # the log's compaction and retention, unless a server holds the lease
        rounds.stop()  # hands the lease back at once
        return changed
