"""The alert lifecycle: window reports open, hold and resolve alerts, with their evidence.

:class:`AlertLifecycle` judges reports with the rules and keeps the alerts in the store; it
returns what changed (fired or resolved) and does nothing else. What a change sets off,
telling the sinks and the rule's action, is the controller's (``shipway.automation``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from shipway.monitoring.rules import AlertRule, decide
from shipway.store.alert_store import AlertStore
from shipway.types import Alert


@dataclass(frozen=True)
class AlertChange:
    """An alert that fired or resolved, and the rule that decided it."""

    event: str  # "fired" or "resolved"
    rule: AlertRule
    alert: Alert


class AlertLifecycle:
    def __init__(
        self, store: AlertStore, rules: Iterable[AlertRule], base_url: str | None = None
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.base_url = base_url  # where the platform server answers, for the report's link

    def process(
        self,
        deployment: str,
        reports: list[Any],
        *,
        replay: bool = False,
        window: str | int | None = None,
        default: str | int | None = None,
    ) -> list[AlertChange]:
        """Judge the newest window (every window in order with ``replay``); returns the alerts
        that fired or resolved. With ``window``, only the rules for that kind of window judge
        (those naming none judge the ``default`` kind)."""
        changes: list[AlertChange] = []
        for report in reports if replay else reports[-1:]:
            data = report.to_dict() if hasattr(report, "to_dict") else report
            for rule in self._judging(deployment, window, default):
                change = self._judge(rule, deployment, data)
                if change is not None:
                    changes.append(change)
        return changes

    def _judging(
        self, deployment: str, window: str | int | None, default: str | int | None
    ) -> list[AlertRule]:
        return [
            rule
            for rule in self.rules
            if rule.deployment in ("*", deployment)
            and (window is None or rule.judges(window, window if default is None else default))
        ]

    def _judge(self, rule: AlertRule, deployment: str, data: dict[str, Any]) -> AlertChange | None:
        current = self.store.open_alert(deployment, rule.name)
        verdict, value = decide(rule, data, current is not None)
        if verdict == "fire":
            alert = self.store.open(
                rule=rule.name,
                deployment=deployment,
                severity=rule.severity,
                metric=rule.metric,
                value=value,
                threshold=rule.threshold,
                window=placed(data),
                evidence=_evidence(data, deployment, self.base_url),
            )
            return AlertChange("fired", rule, alert)
        if verdict == "hold" and current is not None:
            self.store.update(current.alert_id, value=value, window=placed(data))
        elif verdict == "clear" and current is not None:
            return AlertChange(
                "resolved", rule, self.store.set_status(current.alert_id, "resolved")
            )
        return None


def placed(report: dict[str, Any]) -> str:
    """The window's label as an alert keeps it: an hour or a day as it is; a window of rows
    (``rows 0-1499``, counted from the start of one monitoring round, so the same in every
    round) with the time its rows span, which places it for good."""

    window = str(report.get("window", ""))
    span = (report.get("extra") or {}).get("span")
    if not window.startswith("rows ") or not span:
        return window
    start, end = (datetime.fromtimestamp(float(t), UTC) for t in span)
    until = end.strftime("%H:%M" if end.date() == start.date() else "%Y-%m-%d %H:%M")
    return f"{window} ({start:%Y-%m-%d %H:%M}–{until} UTC)"[:64]  # the column's width


def fired(alert: Alert) -> tuple[float | None, str]:
    """The value that fired the alert and its window (an older record kept only the latest)."""
    if alert.fired_window is None:
        return alert.value, alert.window
    return alert.fired_value, alert.fired_window


def later(alert: Alert) -> tuple[float | None, str] | None:
    """The latest value and window judged while it stayed open, when that is another window."""
    if alert.fired_window is None or alert.window == alert.fired_window:
        return None
    return alert.value, alert.window


def summary(alert: Alert) -> str:
    """One line: the value that fired the alert, its threshold and window, and the latest
    value when a later window was judged while it stayed open."""
    value, window = fired(alert)
    text = f"{alert.metric} = {_shown(value)} (threshold {alert.threshold:g}) in window {window}"
    latest = later(alert)
    if latest is not None:
        text += f"; latest {_shown(latest[0])} in window {latest[1]}"
    return text


def _shown(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def payload(event: str, alert: Alert) -> dict[str, Any]:
    """The alert as sinks and actions receive it: its record, the event and a text."""
    data = dataclasses.asdict(alert)
    data["event"] = event
    data["text"] = f"[{alert.severity}] {alert.deployment}: {alert.rule} {event}: {summary(alert)}"
    link = (alert.evidence or {}).get("report", "")
    if link.startswith(("http://", "https://")):  # with [monitoring] base_url: a link to click
        data["text"] += f" (report: {link})"
    return data


def _evidence(report: dict[str, Any], deployment: str, base_url: str | None) -> dict[str, Any]:
    keep = (
        "window",
        "rows",
        "versions",
        "label_coverage",
        "data_drift",
        "prediction_drift",
        "target_drift",
        "quality",
        "realised",
        "estimated",
        "extra",
    )
    evidence: dict[str, Any] = json.loads(json.dumps({k: report.get(k) for k in keep}, default=str))
    evidence.update(report_link(deployment, report, base_url))
    return evidence


def report_link(deployment: str, report: dict[str, Any], base_url: str | None) -> dict[str, str]:
    """Where to see the alert's window in context: the week before it, up to its end, as the
    server's report URL and as the command that writes the same page."""

    span = report.get("extra", {}).get("span")
    if not span:
        return {}
    window = str(report.get("window", ""))
    every = "hour" if window.endswith(":00") else "day"  # a window of rows: its days
    start, end = float(span[0]) - 7 * 86400, float(span[1]) + 1

    def iso(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")

    query = urlencode({"window": every, "from": iso(start), "to": iso(end)})
    path = f"/api/v1/monitoring/{quote(deployment)}/report?{query}"
    command = (
        f"shipway monitor report {deployment} --window {every} --from {iso(start)} "
        f"--to {iso(end)} --out report.html"
    )
    return {"report": (base_url or "").rstrip("/") + path, "report_command": command}
