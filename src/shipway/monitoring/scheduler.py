"""Monitoring on a schedule: what ``shipway server`` runs every few minutes.

Each round judges the newest window of every deployment with the alert rules of
``shipway.toml``. A ``[monitoring]`` table sets the round's interval and window, and per
deployment the training data's label column (for CBPE) and the sensitive columns:

    [monitoring]
    interval_minutes = 5
    window = "hour"
    labels = {churn-live = "churned"}
    sensitive = {churn-live = ["region"]}
    reference = {churn-live = "churn-holdout@3"}   # a logged held-out dataset (default: training data)

A deployment that cannot be judged (no traffic, no reference) is skipped and said once.

Several workers or servers over one metadata store each run the loop, but a round runs only in
the holder of the ``monitoring`` lease, renewed every round. If the holder dies, another
takes over within two intervals, so alerts fire once and never stop firing.
"""

from __future__ import annotations

import logging
import threading
import tomllib
from pathlib import Path
from typing import Any

from shipway.errors import ShipwayError

log = logging.getLogger("shipway.monitoring")
LEASE = "monitoring"


def monitoring_config(config_file: Any) -> dict[str, Any]:
    if config_file is None or not Path(config_file).is_file():
        return {}
    with Path(config_file).open("rb") as f:
        found = tomllib.load(f).get("monitoring", {})
    return found if isinstance(found, dict) else {}


def recent(window: Any, now: float | None = None) -> float | None:
    """Where a round starts reading: the previous and the current hour or day (a round judges
    the newest window only, so older traffic need not be read); None for row-count windows."""
    import time

    length = {"hour": 3600, "day": 86400}.get(str(window))
    if length is None:
        return None
    now = time.time() if now is None else now
    return (now // length - 1) * length


class MonitorScheduler:
    def __init__(self, tracking: Any, *, interval_minutes: float | None = None) -> None:
        self.tracking = tracking
        self.config = monitoring_config(tracking.settings.config_file)
        minutes = (
            interval_minutes
            if interval_minutes is not None
            else self.config.get("interval_minutes", 5)
        )
        self.interval = float(minutes) * 60
        self.rounds = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._said: set[tuple[str, str]] = set()
        import os
        import socket
        import uuid

        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.skipped = 0  # rounds another process ran
        self.fitted: dict[Any, Any] = {}  # monitors fitted per deployment and version

    def run_once(self) -> list[Any]:
        """Judge every deployment's newest window now; returns the alerts that changed."""
        from shipway.monitoring.alerting import alert_manager
        from shipway.monitoring.rules import load_rules
        from shipway.monitoring.service import monitor_with_config
        from shipway.registry.service import Registry
        from shipway.serving.deployments import Deployments

        deployments = Deployments(Registry(self.tracking))
        rules = load_rules(self.tracking.settings.config_file)
        manager = alert_manager(self.tracking, deployments, rules, self.config)
        changed: list[Any] = []
        try:
            default = self.config.get("window", "hour")
            # each kind of window the rules ask for is evaluated once per deployment
            kinds = list(
                dict.fromkeys([default, *(r.window for r in rules if r.window is not None)])
            )
            for deployment in deployments.list():
                name = deployment.name
                for window in kinds:
                    try:
                        reports = monitor_with_config(
                            self.tracking,
                            name,
                            window=window,
                            start=recent(window),
                            fitted=self.fitted,
                            deployments=deployments,
                            config=self.config,
                        )
                    except ShipwayError as exc:
                        if (name, str(exc)) not in self._said:
                            self._said.add((name, str(exc)))
                            log.warning("not monitoring %s: %s", name, exc)
                        break
                    if reports and rules:
                        changed += manager.process(name, reports, window=window, default=default)
        finally:
            manager.close()
            self.rounds += 1
        return changed

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="shipway-monitoring", daemon=True)
        self._thread.start()

    def scheduled_round(self) -> list[Any] | None:
        """One round if this process holds the lease (taking or renewing it); None otherwise."""
        from shipway.store.lease_store import LeaseStore

        seconds = max(2 * self.interval, 60.0)
        if not LeaseStore(self.tracking.stores.db).claim(LEASE, self.holder, seconds):
            self.skipped += 1
            return None
        return self.run_once()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scheduled_round()
            except Exception as exc:  # a broken round must not stop the next one
                log.exception("a monitoring round failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        from shipway.store.lease_store import LeaseStore

        try:  # hand the rounds on now rather than when the lease runs out
            LeaseStore(self.tracking.stores.db).release(LEASE, self.holder)
        except Exception as exc:
            log.warning("could not release the monitoring lease: %s", exc)
