"""Alerts from window reports: open, hold, resolve, act, and tell the sinks.

Sinks are named in a rule as ``log``, ``webhook:URL`` (generic JSON), ``slack:URL`` (a Slack
incoming webhook), ``email:ADDRESS`` (over SMTP, as ``[monitoring.smtp]`` says) or
``command:CMD`` (the alert as JSON on its standard input). They are
called from a background thread with retries, so a failing sink never blocks monitoring;
:meth:`AlertManager.drain` waits (bounded) for deliveries before a command exits.
Actions: ``notify`` only tells; ``rollback`` rolls the deployment back at once (audited);
``retrain`` runs the rule's ``command`` with the alert in ``SHIPWAY_ALERT``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import queue
import shlex
import subprocess
import threading
import time
from collections.abc import Iterable
from typing import Any

from shipway.monitoring.rules import AlertRule, decide
from shipway.types import Alert

log = logging.getLogger("shipway.alerts")
RETRIES = 3


def alert_manager(
    tracking: Any, deployments: Any, rules: Iterable[AlertRule], config: dict[str, Any]
) -> AlertManager:
    """An :class:`AlertManager` over the tracking stores, with the SMTP settings and the base URL
    of ``[monitoring]``."""
    from shipway.store.alert_store import AlertStore

    return AlertManager(
        AlertStore(tracking.stores.db),
        deployments,
        rules,
        config.get("smtp"),
        config.get("base_url"),
    )


class AlertManager:
    def __init__(
        self,
        store: Any,
        deployments: Any,
        rules: Iterable[AlertRule],
        smtp: dict[str, Any] | None = None,
        base_url: str | None = None,
    ) -> None:
        self.store = store
        self.base_url = base_url  # where the platform server answers, for the report's link
        self.deployments = deployments
        self.rules = list(rules)
        self.smtp = (
            smtp or {}
        )  # host, port, from, user, starttls; the password from SHIPWAY_SMTP_PASSWORD
        self.failed_deliveries = 0
        self._outbox: queue.Queue[tuple[str, str, dict[str, Any]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._deliver, name="shipway-alerts", daemon=True)
        self._worker.start()

    def process(
        self,
        deployment: str,
        reports: list[Any],
        *,
        replay: bool = False,
        window: str | int | None = None,
        default: str | int | None = None,
    ) -> list[Alert]:
        """Judge the newest window (every window in order with ``replay``); returns the alerts
        that fired or resolved. With ``window``, only the rules for that kind of window judge
        (those naming none judge the ``default`` kind)."""
        changed: list[Alert] = []
        for report in reports if replay else reports[-1:]:
            data = report.to_dict() if hasattr(report, "to_dict") else report
            for rule in self.rules:
                if rule.deployment not in ("*", deployment):
                    continue
                if window is not None and not rule.judges(
                    window, window if default is None else default
                ):
                    continue
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
                        window=data["window"],
                        evidence=_evidence(data, deployment, self.base_url),
                    )
                    changed.append(alert)
                    self._act(rule, alert)
                    self._notify(rule, "fired", alert)
                elif verdict == "hold" and current is not None:
                    self.store.update(current.alert_id, value=value, window=data["window"])
                elif verdict == "clear" and current is not None:
                    resolved = self.store.set_status(current.alert_id, "resolved")
                    changed.append(resolved)
                    self._notify(rule, "resolved", resolved)
        return changed

    def _act(self, rule: AlertRule, alert: Alert) -> None:
        if rule.action == "rollback":
            try:
                self.deployments.rollback(
                    alert.deployment, reason=f"alert {alert.alert_id}: {_summary(alert)}"
                )
            except Exception as exc:  # nothing to roll back to: say so, keep the alert
                log.error(
                    "alert %s could not roll back %s: %s", alert.alert_id, alert.deployment, exc
                )
        elif rule.action == "retrain" and rule.command:
            env = {**os.environ, "SHIPWAY_ALERT": json.dumps(_payload("fired", alert))}
            try:
                subprocess.Popen(shlex.split(rule.command), env=env, stdin=subprocess.DEVNULL)
            except OSError as exc:
                log.error("alert %s could not start %r: %s", alert.alert_id, rule.command, exc)

    def _notify(self, rule: AlertRule, event: str, alert: Alert) -> None:
        for sink in rule.sinks:
            self._outbox.put((sink, event, _payload(event, alert)))

    def _deliver(self) -> None:
        while (item := self._outbox.get()) is not None:
            sink, event, payload = item
            for attempt in range(RETRIES):
                try:
                    send(sink, payload, self.smtp)
                    break
                except Exception as exc:
                    if attempt == RETRIES - 1:
                        self.failed_deliveries += 1
                        log.warning("alert sink %s failed %d times: %s", sink, RETRIES, exc)
                    else:
                        time.sleep(0.2 * 2**attempt)  # backoff between delivery attempts
            self._outbox.task_done()
        self._outbox.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait, at most ``timeout`` seconds, for queued deliveries."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.drain()
        self._outbox.put(None)


def send(sink: str, payload: dict[str, Any], smtp: dict[str, Any] | None = None) -> None:
    kind, _, target = sink.partition(":")
    if kind == "log":
        level = logging.ERROR if payload["severity"] == "critical" else logging.WARNING
        log.log(level, "%s", payload["text"])
    elif kind in ("webhook", "slack"):
        import httpx

        body = {"text": payload["text"]} if kind == "slack" else payload
        httpx.post(target, json=body, timeout=10).raise_for_status()
    elif kind == "command":
        subprocess.run(
            shlex.split(target), input=json.dumps(payload).encode(), check=True, timeout=60
        )
    elif kind == "email":
        _email(target, payload, smtp or {})
    else:
        raise ValueError(
            f"unknown alert sink {sink!r}: use log, webhook:URL, slack:URL, email:ADDRESS or command:CMD"
        )


def _summary(alert: Alert) -> str:
    value = "n/a" if alert.value is None else f"{alert.value:.4g}"
    return f"{alert.metric} = {value} (threshold {alert.threshold:g}) in window {alert.window}"


def _payload(event: str, alert: Alert) -> dict[str, Any]:
    data = dataclasses.asdict(alert)
    data["event"] = event
    data["text"] = f"[{alert.severity}] {alert.deployment}: {alert.rule} {event}: {_summary(alert)}"
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
    evidence = json.loads(json.dumps({k: report.get(k) for k in keep}, default=str))
    evidence.update(report_link(deployment, report, base_url))
    return evidence


def report_link(deployment: str, report: dict[str, Any], base_url: str | None) -> dict[str, str]:
    """Where to see the alert's window in context: the week before it, up to its end, as the
    server's report URL and as the command that writes the same page."""
    from datetime import UTC, datetime
    from urllib.parse import quote, urlencode

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


def _email(to: str, payload: dict[str, Any], smtp: dict[str, Any]) -> None:
    """One mail over SMTP; ``[monitoring.smtp]`` in shipway.toml says where."""
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = smtp.get("from", "shipway@localhost")
    message["To"] = to
    message["Subject"] = payload["text"][:200]
    message.set_content(json.dumps(payload, indent=2, default=str))
    with smtplib.SMTP(
        smtp.get("host", "localhost"), int(smtp.get("port", 25)), timeout=10
    ) as client:
        if smtp.get("starttls"):
            client.starttls()
        if smtp.get("user"):
            client.login(smtp["user"], os.environ.get("SHIPWAY_SMTP_PASSWORD", ""))
        client.send_message(message)
