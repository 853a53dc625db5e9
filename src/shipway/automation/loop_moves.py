"""What every part of a loop's moves shares: its state saved with an audit event, and its
alerts told to its sinks."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from shipway.automation.loops import Loop
from shipway.automation.sinks import Outbox
from shipway.errors import ShipwayError
from shipway.monitoring.alerts import payload
from shipway.session import Session
from shipway.store.alert_store import AlertStore
from shipway.store.loop_store import LoopState, LoopStore

log = logging.getLogger("shipway.controller")
ACTOR = "shipway-controller"
ATTEMPTS = 3  # rounds that may fail (or trainings be interrupted) before a loop gives up


class TrainingAbandoned(Exception):
    """Raised in a training thread that ran over its time, at its next move: the loop has
    failed and moved on, so what the thread would write is dropped."""


class LoopMoves:
    """The controller's state: set by :class:`shipway.automation.controller.Controller`."""

    session: Session
    acting: Session  # the session acting as shipway-controller
    store: LoopStore
    holder: str
    interval: float
    _stop: threading.Event  # set when the rounds stop: a training thread goes no further
    abandoned: set[threading.Thread]  # training threads that ran over their time: mute

    def _move(self, state: LoopState, to: str, reason: str) -> None:
        if threading.current_thread() in self.abandoned:
            raise TrainingAbandoned(state.deployment)  # the loop has moved on without it
        before, state.state = state.state, to
        state.detail["message"] = reason
        self.store.save(state, actor=ACTOR, action=f"loop:{to}", reason=reason, before=before)
        log.info("loop %s: %s (%s)", state.deployment, to, reason)

    def _alert(self, loop: Loop, what: str, severity: str, state: LoopState) -> None:
        """An alert of the loop (rule ``loop: WHAT``), told to the loop's sinks."""

        evidence: dict[str, Any] = {
            "window": "loop",
            "message": state.detail.get("message", ""),
            "candidate": state.candidate,
            **{k: state.detail[k] for k in ("verdict", "evidence", "error") if k in state.detail},
        }
        alert = AlertStore(self.session.stores.db).open(
            rule=f"loop: {what}",
            deployment=loop.deployment,
            severity=severity,
            metric="loop",
            value=None,
            threshold=0.0,
            window="loop",
            evidence=json.loads(json.dumps(evidence, default=str)),
        )
        if loop.sinks:
            outbox = Outbox(self.session.settings.monitoring.smtp)
            for sink in loop.sinks:
                outbox.put(sink, payload("fired", alert))
            outbox.close()

    def _abandon(self, loop: Loop, state: LoopState, why: str) -> None:
        try:
            deployment = self.session.deployments.get(loop.deployment)
            if deployment.candidate is not None and deployment.candidate == state.candidate:
                self.acting.deployments.rollback(loop.deployment, reason=f"the loop gave up: {why}")
        except ShipwayError as exc:
            log.warning("loop %s: could not take the candidate out: %s", loop.deployment, exc)
        state.detail["error"] = why
        state.detail.pop("faults", None)
        self._move(state, "failed", f"the loop gave up: {why}; the champion serves on")
        self._alert(loop, "loop failed", "critical", state)

    def _model(self, loop: Loop) -> str:
        return self.session.deployments.get(loop.deployment).model


def reason_of(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ShipwayError) else f"{type(exc).__name__}: {exc}"
