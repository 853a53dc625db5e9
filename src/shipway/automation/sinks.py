"""Alert sinks: where an alert is told. Named in a rule as ``log``, ``webhook:URL`` (the alert
as JSON), ``slack:URL`` (a Slack incoming webhook), ``email:ADDRESS`` (over SMTP, as
``[monitoring.smtp]`` says) or ``command:CMD`` (the alert as JSON on its standard input).

:class:`Outbox` delivers from a background thread with retries, so a failing sink never
blocks monitoring; :meth:`Outbox.drain` waits (bounded) for deliveries before a command exits.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shlex
import smtplib
import subprocess
import threading
import time
from email.message import EmailMessage
from typing import Any

from shipway.config import SmtpSettings
from shipway.monitoring.rules import SINK_FORMS

log = logging.getLogger("shipway.alerts")
RETRIES = 3


def send(sink: str, payload: dict[str, Any], smtp: SmtpSettings | None = None) -> None:
    """Deliver one alert payload to one sink (raises when the sink fails)."""
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
        _email(target, payload, smtp or SmtpSettings())
    else:
        raise ValueError(f"unknown alert sink {sink!r}: use {SINK_FORMS}")


def _email(to: str, payload: dict[str, Any], smtp: SmtpSettings) -> None:
    """One mail over SMTP; ``[monitoring.smtp]`` in shipway.toml says where."""

    message = EmailMessage()
    message["From"] = smtp.from_address
    message["To"] = to
    message["Subject"] = payload["text"][:200]
    message.set_content(json.dumps(payload, indent=2, default=str))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.user:
            client.login(smtp.user, os.environ.get("SHIPWAY_SMTP_PASSWORD", ""))
        client.send_message(message)


class Outbox:
    """Deliveries to sinks from one background thread, each tried ``RETRIES`` times."""

    def __init__(self, smtp: SmtpSettings | None = None) -> None:
        self.smtp = smtp or SmtpSettings()
        self.failed_deliveries = 0
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._worker = threading.Thread(target=self._deliver, name="shipway-alerts", daemon=True)
        self._worker.start()

    def put(self, sink: str, payload: dict[str, Any]) -> None:
        self._queue.put((sink, payload))

    def _deliver(self) -> None:
        while (item := self._queue.get()) is not None:
            sink, payload = item
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
            self._queue.task_done()
        self._queue.task_done()

    def drain(self, timeout: float = 10.0) -> None:
        """Wait, at most ``timeout`` seconds, for queued deliveries."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)  # polling a queue's count: there is no event for "all done"

    def close(self) -> None:
        self.drain()
        self._queue.put(None)
