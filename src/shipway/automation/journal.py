"""A loop's moves recorded: each saved with its audit event (the move checked against the
phases it may take), its alerts told to its sinks, and the way out when it gives up."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from shipway.automation.loops import Loop
from shipway.automation.records import ControlRecords
from shipway.automation.sinks import Outbox
from shipway.errors import ShipwayError
from shipway.monitoring.alerts import payload
from shipway.session import Session
from shipway.store.loop_state import LoopState, Phase, check_move

log = logging.getLogger("shipway.controller")
ACTOR = "shipway-controller"
ATTEMPTS = 3  # rounds that may fail (or trainings be interrupted) before a loop gives up


class TrainingAbandoned(Exception):
    """Raised in a training thread that ran over its time, at its next move: the loop has
    failed and moved on, so what the thread would write is dropped."""


class Journal:
    """Where every part of the controller records a loop's moves.

    ``muted``: whether the calling thread is a training that ran over its time, whose
    moves are dropped (:class:`shipway.automation.background.TrainingThreads`)."""

    def __init__(
        self,
        session: Session,
        acting: Session,
        records: ControlRecords,
        muted: Callable[[], bool],
    ) -> None:
        self.session = session
        self.acting = acting  # the session acting as shipway-controller
        self.records = records
        self.muted = muted

    def move(self, state: LoopState, to: Phase, reason: str) -> None:
        """The loop moves to ``to``: saved with an audit event ``loop:TO`` and its reason."""
        if self.muted():
            raise TrainingAbandoned(state.deployment)  # the loop has moved on without it
        check_move(state.state, to)
        before, state.state = state.state, to
        state.detail.message = reason
        self.records.save_loop_state(
            state, actor=ACTOR, action=f"loop:{to}", reason=reason, before=before
        )
        log.info("loop %s: %s (%s)", state.deployment, to, reason)

    def begin(self, state: LoopState, reason: str) -> None:
        """A loop seen for the first time: it starts idle, which is audited too."""
        state.state, state.detail.message = Phase.IDLE, reason
        self.records.save_loop_state(
            state, actor=ACTOR, action="loop:idle", reason=reason, before=Phase.IDLE
        )

    def note(self, state: LoopState, message: str) -> None:
        """What the loop waits for, saved when it changed (no move, no audit event)."""
        if state.detail.message != message:
            state.detail.message = message
            self.records.save_loop_state(state, actor=ACTOR)

    def save(self, state: LoopState) -> None:
        self.records.save_loop_state(state, actor=ACTOR)

    def alert(self, loop: Loop, what: str, severity: str, state: LoopState) -> None:
        """An alert of the loop (rule ``loop: WHAT``), told to the loop's sinks."""
        detail = state.detail
        evidence: dict[str, Any] = {
            "window": "loop",
            "message": detail.message,
            "candidate": state.candidate,
            **{
                key: value
                for key, value in (
                    ("verdict", detail.verdict),
                    ("evidence", detail.evidence),
                    ("error", detail.error),
                )
                if value is not None
            },
        }
        alert = self.records.open_alert(
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

    def abandon(self, loop: Loop, state: LoopState, why: str) -> None:
        """The loop gives up: its candidate leaves the traffic and the champion serves on."""
        try:
            deployment = self.session.deployments.get(loop.deployment)
            if deployment.candidate is not None and deployment.candidate == state.candidate:
                self.acting.deployments.rollback(loop.deployment, reason=f"the loop gave up: {why}")
        except ShipwayError as exc:
            log.warning("loop %s: could not take the candidate out: %s", loop.deployment, exc)
        state.detail.error = why
        state.detail.faults = 0
        self.move(state, Phase.FAILED, f"the loop gave up: {why}; the champion serves on")
        self.alert(loop, "loop failed", "critical", state)

    def model(self, loop: Loop) -> str:
        """The model the loop's deployment serves."""
        return self.session.deployments.get(loop.deployment).model


def reason_of(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ShipwayError) else f"{type(exc).__name__}: {exc}"
