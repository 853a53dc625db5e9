"""The controller: each round, monitoring and then every loop one move along.

One loop's path reads top-down in :meth:`Controller._work`, each move made by the part that
owns it and receives what it needs::

    idle ──trigger──▶ training ──▶ gated ──▶ (waiting for approval) ──▶ ready ──▶ canary step 1…N ──▶ promoted
         (triggers)   (Trainer)   (Approval)                          (Rollouts)            │
                          │           │                                                     ▼
                        failed     rejected                                            rolled back

The phases and the moves allowed between them are :mod:`shipway.store.loop_state`'s.
``failed``, ``rejected``, ``promoted`` and ``rolled back`` are where a loop rests until its
next trigger. In every one of them but ``promoted`` the champion never stopped serving.
Every move is an audit event of the loop (``shipway loops status``), with its reason
(:class:`~shipway.automation.journal.Journal`), and every change to a deployment is the
deployment's own audit event, made as ``shipway-controller``. Only the holder of the
``monitoring`` lease moves loops (:class:`~shipway.automation.rounds.MonitoringRounds`
keeps it), so several servers over one store act once.
"""

from __future__ import annotations

import threading
import time

from shipway.automation.approval import Approval
from shipway.automation.background import LeaseKeeper, TrainingThreads
from shipway.automation.facts import dataset_versions, labels_after, open_alerts
from shipway.automation.holdouts import Holdouts
from shipway.automation.journal import (
    ACTOR,
    ATTEMPTS,
    Journal,
    TrainingAbandoned,
    log,
    reason_of,
)
from shipway.automation.judging import GateJudge
from shipway.automation.loops import Facts, Loop, Seen, acted, due, loops_from_settings
from shipway.automation.rollouts import Rollouts
from shipway.automation.rounds import LEASE, MonitoringRounds
from shipway.automation.training import Trainer
from shipway.errors import NotFound
from shipway.session import Session
from shipway.store.loop_state import RESTING, LoopDetail, LoopState, Phase
from shipway.types import Alert, Deployment

STOP_SECONDS = 30.0  # how long a stopping controller waits for a training, in all
__all__ = ["ACTOR", "RESTING", "Controller"]


class Controller:
    """Monitoring rounds, and after each the loops (``loops``: default ``[loops.*]``).

    ``background``: a process that runs rounds forever (``shipway controller``, ``shipway
    server``) trains on a thread per loop, so a pipeline of an hour does not hold up the
    other loops' canaries and the monitoring; one round (``--once``, cron, tests) trains in
    the round."""

    def __init__(
        self,
        session: Session,
        loops: dict[str, Loop] | None = None,
        *,
        interval_minutes: float | None = None,
        background: bool = False,
    ) -> None:
        self.session = session
        self.loops = loops_from_settings(session.settings) if loops is None else loops
        self.background = background
        self.monitoring = MonitoringRounds(
            session, interval_minutes=interval_minutes, then=self.loop_round
        )
        self.threads = TrainingThreads(self.monitoring.stopping)
        self.records = self.monitoring.records  # the one door to the stores
        acting = session.acting_as(ACTOR)
        self.journal = Journal(session, acting, self.records, muted=self.threads.muted)
        holdouts, judge = Holdouts(session), GateJudge(session, acting, self.records)
        lease = LeaseKeeper(self.records, self.holder, self.interval, self.threads)
        self.trainer = Trainer(
            session, self.journal, holdouts, judge, lease.kept, self.threads.muted
        )
        self.approval = Approval(self.journal)
        self.rollouts = Rollouts(self.journal, holdouts, judge)

    # -- rounds --------------------------------------------------------------------------
    @property
    def interval(self) -> float:
        """Seconds between rounds (0: none)."""
        return self.monitoring.interval

    @property
    def holder(self) -> str:
        """This process's name on the lease."""
        return self.monitoring.holder

    @property
    def stopping(self) -> threading.Event:
        """Set when the rounds stop: a training goes no further than its gate."""
        return self.monitoring.stopping

    def run_once(self, *, replay: bool = False, monitor: bool = True) -> list[Alert]:
        """Monitoring (unless ``monitor=False``), then every loop; returns changed alerts."""
        if monitor:
            return self.monitoring.round(replay=replay)
        self.loop_round()
        return []

    def once(self) -> bool:
        """One round as ``shipway controller --once`` runs it: under the lease, which is
        handed on after; False when another process holds it (and nothing was done)."""
        if not self.records.claim_lease(LEASE, self.holder, max(2 * self.interval, 600.0)):
            return False
        try:
            self.run_once()
            self.monitoring.upkeep()
        finally:
            self.records.release_lease(LEASE, self.holder)
        return True

    def scheduled_round(self) -> list[Alert] | None:
        """One round if this process holds the lease; None otherwise."""
        return self.monitoring.scheduled_round()

    def start(self) -> None:
        """Rounds on a thread of their own, every interval."""
        self.monitoring.start()

    def stop(self, wait_seconds: float = STOP_SECONDS) -> None:
        """Stop the rounds: a training still running is waited for (``wait_seconds`` in all)
        and then goes no further than its gate; the lease is handed on either way, since the
        process is about to end, and a restarted controller trains an unfinished loop again
        (``wait_for_training(0)`` then says whether one still runs: a thread cannot be
        stopped)."""
        deadline = time.monotonic() + wait_seconds
        self.stopping.set()
        self.monitoring.join(max(0.0, deadline - time.monotonic()))
        if not self.wait_for_training(timeout=max(0.0, deadline - time.monotonic())):
            log.warning(
                "a loop is still training as the controller stops: it trains again next start"
            )
        self.monitoring.stop(wait_seconds=max(0.0, deadline - time.monotonic()))

    def wait_for_training(self, timeout: float | None = None) -> bool:
        """Wait until no loop trains on a thread of its own; False if one still does."""
        return self.threads.wait(timeout)

    def loop_round(self, *, now: float | None = None) -> dict[str, LoopState]:
        """Move every loop one step; returns their states."""
        if not self.loops:
            return {}
        now = time.time() if now is None else now
        states = self.records.loop_states()
        alerts = open_alerts(self.session)
        datasets = dataset_versions(self.session, self.loops.values())
        deployments = {d.name: d for d in self.session.deployments.list()}  # one query a round
        out = {}
        for name, loop in self.loops.items():
            facts = Facts(now, datasets, alerts.get(name, {}), 0)
            try:
                if loop.has_trigger("labels"):
                    known = states.get(name)
                    seen = Seen.from_dict(known.seen) if known and known.seen else None
                    new, facts.newest_label = labels_after(
                        self.session,
                        name,
                        seen.labels_until if seen else None,
                        records=self.records,
                    )
                    facts.labelled_rows = (seen.labels_at_training if seen else 0) + new
                out[name] = self._advance(loop, states.get(name), facts, deployments.get(name))
            except Exception as exc:  # one broken loop must not stop the others
                log.exception("loop %s: %s", name, exc)
        return out

    # -- one loop ------------------------------------------------------------------------
    def _advance(
        self,
        loop: Loop,
        state: LoopState | None,
        facts: Facts,
        deployment: Deployment | None = None,
    ) -> LoopState:
        """One loop's moves; ``deployment``: as the round read it (None: read it now)."""
        name = loop.deployment
        thread = self.threads.running.get(name)
        if thread is not None:
            if thread.is_alive():
                if not self._overran(loop, state, facts):
                    return state or LoopState(name)  # its own thread carries it on
                return self._abandon_training(loop)
            del self.threads.running[name]
            state = self.records.loop_state(
                name
            )  # what the thread saved, not the round's first read
            deployment = None  # and what it deployed
        if state is None:
            state = LoopState(name, seen=Seen.starting(facts).to_dict())
            self.journal.begin(state, "the loop starts; what exists now is not news")
        if deployment is None:
            try:
                deployment = self.session.deployments.get(name)
            except NotFound:
                return state  # nothing to retrain until the deployment exists
        if state.state in RESTING and not self._begin(loop, state, deployment, facts):
            return state
        try:
            self._work(loop, state, deployment)
        except Exception as exc:
            self._fault(loop, state, exc)
        return state

    def _begin(self, loop: Loop, state: LoopState, deployment: Deployment, facts: Facts) -> bool:
        """A resting loop starts on a canary made by hand or on a trigger; False: it rests."""
        if self.rollouts.adopt(loop, state, deployment):
            return True
        reasons = due(loop, Seen.from_dict(state.seen), facts)
        if not reasons:
            return False
        state.seen = acted(Seen.from_dict(state.seen), facts).to_dict()
        state.candidate, state.step, state.step_started_at = None, 0, None
        state.detail = LoopDetail(trigger="; ".join(reasons), started=facts.now)
        self.journal.move(state, Phase.TRAINING, state.detail.trigger or "")
        return True

    def _work(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        """Every move the loop can make now, from where it is: its path, top down."""
        if state.state is Phase.TRAINING:
            if self.background:
                self._train_aside(loop, state)
                return
            self.trainer.train(loop, state, deployment)  # → gated, rejected or failed
        if state.state is Phase.GATED:
            self.approval.release(loop, state)  # → ready, or waiting for approval
        if state.state is Phase.WAITING_APPROVAL:
            self.approval.check(loop, state)  # → ready once approved, or rejected
        if state.state is Phase.READY:
            self.rollouts.start(loop, state, deployment)  # → canary, promoted, rejected…
        elif state.state is Phase.CANARY:
            self.rollouts.judge_step(loop, state, deployment)  # → next step, promoted…
        if state.detail.faults:  # this round went through: earlier failures are forgiven
            state.detail.faults = 0
            self.journal.save(state)

    def _fault(self, loop: Loop, state: LoopState, exc: Exception) -> None:
        """A round that raised: retried next round, and after ``ATTEMPTS`` the loop gives up,
        taking its candidate out of the traffic, so nothing is left half made."""
        why = reason_of(exc)
        state.detail.faults += 1
        faults = state.detail.faults
        log.warning("loop %s: %s (%d of %d)", loop.deployment, why, faults, ATTEMPTS)
        if faults < ATTEMPTS:
            state.detail.message = f"a round failed ({faults} of {ATTEMPTS}): {why}"
            self.journal.save(state)
            return
        self.journal.abandon(loop, state, f"{ATTEMPTS} rounds failed: {why}")

    # -- trainings on threads of their own -----------------------------------------------
    def _train_aside(self, loop: Loop, state: LoopState) -> None:
        """Train on a thread of its own, which then moves the loop on as far as it can go
        (the gate, approval, the canary's first step); the rounds take it from there."""

        def train() -> None:
            try:
                self.trainer.train(loop, state, self.session.deployments.get(loop.deployment))
                if state.state is not Phase.TRAINING and not self.stopping.is_set():
                    # a deploy by hand meanwhile is seen: the deployment read anew
                    self._work(loop, state, self.session.deployments.get(loop.deployment))
            except TrainingAbandoned:
                log.warning("loop %s: a training that ran over its time ended", loop.deployment)
            except Exception as exc:
                if not self.threads.muted():
                    self._fault(loop, state, exc)

        self.threads.start(loop.deployment, train)

    def _overran(self, loop: Loop, state: LoopState | None, facts: Facts) -> bool:
        started = (state.detail.started if state is not None else None) or facts.now
        return facts.now - float(started) > loop.training_timeout_minutes * 60

    def _abandon_training(self, loop: Loop) -> LoopState:
        """A training that ran over its time: its thread is left to end (Python cannot stop
        it) but may move nothing any more; the loop fails and the champion serves on."""
        self.threads.abandon(loop.deployment)
        state = self.records.loop_state(loop.deployment) or LoopState(loop.deployment)
        if state.state in RESTING:  # its moves were done; only the thread lingers
            return state
        self.journal.abandon(
            loop,
            state,
            f"training ran over its {loop.training_timeout_minutes:g} minutes "
            "(training_timeout_minutes)",
        )
        return state
