"""Monitoring on a schedule: what ``shipway server`` runs every few minutes.

Each round judges the newest window of every deployment with the alert rules of
``shipway.toml``, and its alerts set off their sinks and actions. ``[monitoring]`` sets the
interval and the window, and per deployment the label column, the sensitive columns and the
reference (see :class:`shipway.config.MonitoringSettings`). A deployment that cannot be
judged (no traffic, no reference) is skipped and said once.

Several workers or servers over one metadata store each run the loop, but a round runs only in
the holder of the ``monitoring`` lease, renewed every round. If the holder dies, another
takes over within two intervals, so alerts fire once and never stop firing.

The lease holder also keeps the prediction log small (see
:mod:`shipway.serving.log_compaction`): it compacts closed hours and expires partitions older
than ``[serve] retention_days``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from shipway.automation.records import ControlRecords
from shipway.automation.responder import AlertResponder, alert_responder
from shipway.config import MAX_SETTING
from shipway.errors import InvalidArgument, PlatformError, ShipwayError
from shipway.monitoring.rules import rules_from_settings
from shipway.serving.log_compaction import Upkeep
from shipway.serving.prediction_log import PREDICTIONS
from shipway.session import Session
from shipway.types import Alert

if TYPE_CHECKING:
    from shipway.monitoring.monitor import WindowReport

log = logging.getLogger("shipway.monitoring")
LEASE = "monitoring"
UNREADABLE = "log: unreadable segments"  # the alert for quarantined log segments
UNMONITORED = "monitoring: not monitored"  # the alert for a deployment a round cannot judge


def recent(window: str | int, now: float | None = None) -> float | None:
    """Where a round starts reading: the previous and the current hour or day (a round judges
    the newest window only, so older traffic need not be read); None for row-count windows."""
    length = {"hour": 3600, "day": 86400}.get(str(window))
    if length is None:
        return None
    now = time.time() if now is None else now
    return (now // length - 1) * length


class MonitoringRounds:
    """Rounds over every deployment; ``interval_minutes`` overrides ``[monitoring]``'s.

    ``then``: what each scheduled round runs after monitoring (the controller's loops),
    even when monitoring failed, since a broken monitor must not freeze a canary."""

    def __init__(
        self,
        session: Session,
        *,
        interval_minutes: float | None = None,
        then: Callable[[], object] | None = None,
    ) -> None:
        self.session = session
        self.then = then
        self.settings = session.settings
        minutes = (
            interval_minutes
            if interval_minutes is not None
            else self.settings.monitoring.interval_minutes
        )
        if not 0 <= float(minutes) <= MAX_SETTING:  # NaN too: a wait of NaN never waits
            raise InvalidArgument(
                f"the monitoring interval is a finite number of minutes (0: none), not {minutes!r}"
            )
        self.interval = float(minutes) * 60
        self.rounds = 0
        self.skipped = 0  # rounds another process ran
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.fitted: dict[Any, Any] = {}  # monitors fitted per deployment and version
        self.stopping = threading.Event()  # set when the rounds stop
        self._thread: threading.Thread | None = None
        self._said: set[tuple[str, str]] = set()
        self._built_in: dict[tuple[str, str], Alert] = {}  # (deployment, rule) -> open alert

    @cached_property
    def records(self) -> ControlRecords:
        """The stores' door for what the rounds keep (the lease, their own alerts)."""
        return ControlRecords(self.session)

    def run_once(self, *, replay: bool = False) -> list[Alert]:
        """Judge every deployment's newest window now (every window in order with
        ``replay``); returns the alerts that changed."""

        rules = rules_from_settings(self.settings)
        responder = alert_responder(self.session, rules)
        # the round's own alerts that are open, read once a round, not once a deployment
        self._built_in = {
            (a.deployment, a.rule): a
            for a in self.session.alerts.list()
            if a.rule in (UNMONITORED, UNREADABLE)
        }
        changed: list[Alert] = []
        try:
            default = self.settings.monitoring.window
            # each kind of window the rules ask for is evaluated once per deployment
            kinds = list(dict.fromkeys([default, *(r.window for r in rules if r.window)]))
            for deployment in self.session.deployments.list():
                changed += self._judge(deployment.name, kinds, default, responder, replay)
        finally:
            responder.close()
            self.rounds += 1
        return changed

    def _judge(
        self,
        name: str,
        kinds: list[str | int],
        default: str | int,
        responder: AlertResponder,
        replay: bool = False,
    ) -> list[Alert]:
        changed: list[Alert] = []
        if not replay and not self._has_traffic(name, kinds):
            return changed  # nothing new to judge: no reference is loaded, no monitor fitted
        from shipway.monitoring.service import monitor_with_config  # scikit-learn, scipy …

        for window in kinds:
            try:
                reports = monitor_with_config(
                    self.session,
                    name,
                    window=window,
                    start=None if replay else recent(window),
                    fitted=self.fitted,
                )
            except ShipwayError as exc:
                if (name, str(exc)) not in self._said:
                    self._said.add((name, str(exc)))
                    log.warning("not monitoring %s: %s", name, exc)
                if not isinstance(exc, PlatformError):  # the deployment, not the store
                    changed += self._unmonitored(name, exc)
                break
            except Exception:  # a bug or a failing store ends this deployment's turn only
                log.exception("monitoring %s failed; the other deployments go on", name)
                break
            changed += self._monitored(name)
            if reports and responder.lifecycle.rules:
                changed += responder.process(
                    name, reports, window=window, default=default, replay=replay
                )
            if reports:
                changed += self._unreadable(name, reports)
        return changed

    def _unmonitored(self, name: str, exc: ShipwayError) -> list[Alert]:
        """A deployment the round cannot judge (no reference, say) is a warning alert, open
        once until a round judges it again: never a silent line in a log."""
        return self._open_once(
            name,
            UNMONITORED,
            metric="monitoring",
            value=None,
            window="monitoring",
            evidence={"reason": str(exc)},
        )

    def _monitored(self, name: str) -> list[Alert]:
        found = self._built_in.pop((name, UNMONITORED), None)
        if found is None:
            return []
        monitoring = self.session.acting_as("shipway-monitoring")
        return [monitoring.alerts.resolve(found.alert_id)]

    def _unreadable(self, name: str, reports: list[WindowReport]) -> list[Alert]:
        """The alert for log segments no reader could read (they were quarantined): open
        once, while any window of the round counts one, whatever rules the settings have."""
        healths = [r.extra.get("health", {}) for r in reports]
        segments = sum(int(h.get("unreadable_segments", 0) or 0) for h in healths)
        if not segments or (name, UNREADABLE) in self._built_in:
            return []
        log.warning("%s: %d log segment(s) could not be read and were quarantined", name, segments)
        return self._open_once(
            name,
            UNREADABLE,
            metric="extra.health.unreadable_segments",
            value=float(segments),
            window=reports[-1].window,
            evidence={
                "unreadable_segments": segments,
                "unreadable_rows": sum(int(h.get("unreadable_rows", 0) or 0) for h in healths),
                "where": "quarantine/ in the artifact store, under each segment's own key",
            },
        )

    def _open_once(self, name: str, rule: str, **fields: Any) -> list[Alert]:
        """One of the round's own warning alerts, unless it is open already."""

        if (name, rule) in self._built_in:
            return []
        alert = self.records.open_alert(
            rule=rule, deployment=name, severity="warning", threshold=0.0, **fields
        )
        self._built_in[(name, rule)] = alert
        return [alert]

    def _has_traffic(self, name: str, kinds: list[str | int]) -> bool:
        """Whether the log holds predictions in the span the round would read."""

        starts = [recent(window) for window in kinds]
        start = None if None in starts else min(s for s in starts if s is not None)
        return self.records.has_log(PREDICTIONS, name, start=start)

    def start(self) -> None:
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="shipway-monitoring", daemon=True)
        self._thread.start()

    def scheduled_round(self) -> list[Alert] | None:
        """One round if this process holds the lease (taking or renewing it); None otherwise."""

        seconds = max(2 * self.interval, 60.0)
        if not self.records.claim_lease(LEASE, self.holder, seconds):
            self.skipped += 1
            return None
        changed = self.round()
        self.upkeep()
        return changed

    def round(self, *, replay: bool = False) -> list[Alert]:
        """Monitoring, then ``then``: the alerts that changed."""
        if self.then is None:
            return self.run_once(replay=replay)
        changed: list[Alert] = []
        try:
            changed = self.run_once(replay=replay)
        except Exception as exc:  # a broken monitor must not freeze the loops' canaries
            log.exception("the monitoring round failed: %s", exc)
        self.then()
        return changed

    def upkeep(self) -> Upkeep | None:
        """Compact closed hours of every deployment's log and expire old partitions; only by
        the lease holder (taking the lease if it is free), so no two processes compact one
        hour. None when another process holds the lease."""

        seconds = max(2 * self.interval, 60.0)
        if not self.records.claim_lease(LEASE, self.holder, seconds):
            return None
        names = [d.name for d in self.session.deployments.list()]
        return self.records.upkeep(names, self.settings.serve.retention_days)

    def _loop(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.scheduled_round()
            except Exception as exc:  # a broken round must not stop the next one
                log.exception("a monitoring round failed: %s", exc)

    def join(self, timeout: float) -> None:
        """Wait (``timeout`` seconds at most) for a round under way once stopping is set."""
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def stop(self, wait_seconds: float = 30.0) -> None:
        """Stop the rounds (waiting ``wait_seconds`` at most for one under way) and hand
        the lease on at once."""
        self.stopping.set()
        self.join(wait_seconds)

        try:  # hand the rounds on now rather than when the lease runs out
            self.records.release_lease(LEASE, self.holder)
        except Exception as exc:
            log.warning("could not release the monitoring lease: %s", exc)
