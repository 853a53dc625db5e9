"""The controller: each round, monitoring and then every loop one move along.

A loop's states, in the store (:mod:`shipway.store.loop_store`)::

    idle ──trigger──▶ training ──▶ gated ──▶ (waiting for approval) ──▶ canary step 1…N ──▶ promoted
                          │           │                                      │
                          ▼           ▼                                      ▼
                        failed     rejected                             rolled back

``failed``, ``rejected``, ``promoted`` and ``rolled back`` are where a loop rests until its
next trigger. In every one of them but ``promoted`` the champion never stopped serving.
Every move is an audit event of the loop (``shipway loops status``), with its reason, and
every change to a deployment is the deployment's own audit event, made as
``shipway-controller``. Only the holder of the ``monitoring`` lease moves loops, so several
servers over one store act once.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shipway.automation.facts import dataset_versions, labels_after, open_alerts
from shipway.automation.loop_moves import ACTOR, ATTEMPTS, TrainingAbandoned, log, reason_of
from shipway.automation.loops import Facts, Loop, Seen, acted, due, loops_from_settings
from shipway.automation.rollouts import Rollouts
from shipway.automation.rounds import LEASE, MonitoringRounds
from shipway.errors import NotFound
from shipway.session import Session
from shipway.store.lease_store import LeaseStore
from shipway.store.loop_store import LoopState, LoopStore
from shipway.types import Deployment

RESTING = ("idle", "promoted", "rolled_back", "failed", "rejected")
STOP_SECONDS = 30.0  # how long a stopping controller waits for a training, in all
__all__ = ["ACTOR", "Controller", "RESTING"]


class Controller(Rollouts, MonitoringRounds):
    """Monitoring rounds, and after each the loops (``loops``: default ``[loops.*]``).

    The moves live by concern: :mod:`~shipway.automation.training` (the pipeline and the
    gate), :mod:`~shipway.automation.rollouts` (approval and the canary); this class keeps
    the round, the state machine and what happens when a round fails."""

    def __init__(
        self,
        session: Session,
        loops: dict[str, Loop] | None = None,
        *,
        interval_minutes: float | None = None,
        background: bool = False,
    ) -> None:
        super().__init__(session, interval_minutes=interval_minutes)
        self.loops = loops_from_settings(session.settings) if loops is None else loops
        self.acting = session.acting_as(ACTOR)
        self.store = LoopStore(session.stores.db)
        # A process that runs rounds forever (shipway controller, shipway server) trains on a
        # thread per loop, so a pipeline of an hour does not hold up the other loops'
        # canaries and the monitoring; one round (--once, cron, tests) trains in the round.
        self.background = background
        self.training: dict[str, threading.Thread] = {}
        self.abandoned: set[threading.Thread] = set()

    # -- rounds --------------------------------------------------------------------------
    def run_once(self, *, replay: bool = False, monitor: bool = True) -> list[Any]:
        """Monitoring (unless ``monitor=False``), then every loop; returns changed alerts."""
        changed: list[Any] = []
        if monitor:
            try:
                changed = super().run_once(replay=replay)
            except Exception as exc:  # a broken monitor must not freeze the loops' canaries
                log.exception("the monitoring round failed: %s", exc)
        self.loop_round()
        return changed

    def once(self) -> bool:
        """One round as ``shipway controller --once`` runs it: under the lease, which is
        handed on after; False when another process holds it (and nothing was done)."""

        leases = LeaseStore(self.session.stores.db)
        if not leases.claim(LEASE, self.holder, max(2 * self.interval, 600.0)):
            return False
        try:
            self.run_once()
            self.upkeep()
        finally:
            leases.release(LEASE, self.holder)
        return True

    def loop_round(self, *, now: float | None = None) -> dict[str, LoopState]:
        """Move every loop one step; returns their states."""
        if not self.loops:
            return {}
        now = time.time() if now is None else now
        states = self.store.all()
        alerts = open_alerts(self.session)
        datasets = dataset_versions(self.session, self.loops.values())
        deployments = {d.name: d for d in self.session.deployments.list()}  # one query a round
        out = {}
        for name, loop in self.loops.items():
            facts = Facts(now, datasets, alerts.get(name, {}), 0)
            try:
                if any(t.kind == "labels" for t in loop.triggers):
                    known = states.get(name)
                    seen = Seen.from_dict(known.seen) if known and known.seen else None
                    new, facts.newest_label = labels_after(
                        self.session, name, seen.labels_until if seen else None
                    )
                    facts.labelled_rows = (seen.labels_at_training if seen else 0) + new
                out[name] = self._advance(loop, states.get(name), facts, deployments.get(name))
            except Exception as exc:  # one broken loop must not stop the others
                log.exception("loop %s: %s", name, exc)
        return out

    # -- the state machine ---------------------------------------------------------------
    def _advance(
        self,
        loop: Loop,
        state: LoopState | None,
        facts: Facts,
        deployment: Deployment | None = None,
    ) -> LoopState:
        """One loop's moves; ``deployment``: as the round read it (None: read it now)."""
        name = loop.deployment
        if name in self.training:
            if self.training[name].is_alive():
                if not self._overran(loop, state, facts):
                    return state or LoopState(name)  # its own thread carries it on
                return self._abandon_training(loop, self.training.pop(name))
            del self.training[name]
            state = self.store.find(name)  # what the thread saved, not the round's first read
            deployment = None  # and what it deployed
        if state is None:
            state = LoopState(name, seen=Seen.starting(facts).to_dict())
            self._move(state, "idle", "the loop starts; what exists now is not news")
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

    def _work(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        """Every move the loop can make now, from where it is."""
        if state.state == "training":
            if self.background:
                self._train_aside(loop, state)
                return
            self._train(loop, state, deployment)
        if state.state == "gated":
            self._release(loop, state)
        if state.state == "waiting_approval":
            self._approved(loop, state)
        if state.state == "ready":
            self._start_rollout(loop, state, deployment)
        elif state.state == "canary":
            self._judge_step(loop, state, deployment)
        if state.detail.pop("faults", None):
            self.store.save(state, actor=ACTOR)

    def _train_aside(self, loop: Loop, state: LoopState) -> None:
        """Train on a thread of its own, which then moves the loop on as far as it can go
        (the gate, approval, the canary's first step); the rounds take it from there."""

        def train() -> None:
            try:
                self._train(loop, state, self.session.deployments.get(loop.deployment))
                if state.state != "training" and not self._stop.is_set():
                    # a deploy by hand meanwhile is seen: the deployment read anew
                    self._work(loop, state, self.session.deployments.get(loop.deployment))
            except TrainingAbandoned:
                log.warning("loop %s: a training that ran over its time ended", loop.deployment)
            except Exception as exc:
                if threading.current_thread() not in self.abandoned:
                    self._fault(loop, state, exc)

        thread = threading.Thread(
            target=train, name=f"shipway-train-{loop.deployment}", daemon=True
        )
        self.training[loop.deployment] = thread
        thread.start()

    def _overran(self, loop: Loop, state: LoopState | None, facts: Facts) -> bool:
        started = (state.detail.get("started") if state is not None else None) or facts.now
        return facts.now - float(started) > loop.training_timeout_minutes * 60

    def _abandon_training(self, loop: Loop, thread: threading.Thread) -> LoopState:
        """A training that ran over its time: its thread is left to end (Python cannot stop
        it) but may move nothing any more; the loop fails and the champion serves on."""
        self.abandoned.add(thread)
        state = self.store.find(loop.deployment) or LoopState(loop.deployment)
        self._abandon(
            loop,
            state,
            f"training ran over its {loop.training_timeout_minutes:g} minutes "
            "(training_timeout_minutes)",
        )
        return state

    def wait_for_training(self, timeout: float | None = None) -> bool:
        """Wait until no loop trains on a thread of its own; False if one still does."""
        for thread in list(self.training.values()):
            thread.join(timeout)
        return not any(t.is_alive() for t in list(self.training.values()))

    def stop(self, wait_seconds: float = STOP_SECONDS) -> None:
        """Stop the rounds: a training still running is waited for (``wait_seconds`` in all)
        and then goes no further than its gate; the lease is handed on either way, since the
        process is about to end, and a restarted controller trains an unfinished loop again
        (``wait_for_training(0)`` then says whether one still runs: a thread cannot be
        stopped)."""
        deadline = time.monotonic() + wait_seconds
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if not self.wait_for_training(timeout=max(0.0, deadline - time.monotonic())):
            log.warning(
                "a loop is still training as the controller stops: it trains again next start"
            )
        super().stop(wait_seconds=max(0.0, deadline - time.monotonic()))

    def _fault(self, loop: Loop, state: LoopState, exc: Exception) -> None:
        """A round that raised: retried next round, and after ``ATTEMPTS`` the loop gives up,
        taking its candidate out of the traffic, so nothing is left half made."""
        why = reason_of(exc)
        faults = int(state.detail.get("faults", 0)) + 1
        state.detail["faults"] = faults
        log.warning("loop %s: %s (%d of %d)", loop.deployment, why, faults, ATTEMPTS)
        if faults < ATTEMPTS:
            state.detail["message"] = f"a round failed ({faults} of {ATTEMPTS}): {why}"
            self.store.save(state, actor=ACTOR)
            return
        self._abandon(loop, state, f"{ATTEMPTS} rounds failed: {why}")

    def _begin(self, loop: Loop, state: LoopState, deployment: Deployment, facts: Facts) -> bool:
        """A resting loop starts on a canary made by hand or on a trigger; False: it rests."""
        if self._adopt(loop, state, deployment) is not None:
            return True
        reasons = due(loop, Seen.from_dict(state.seen), facts)
        if not reasons:
            return False
        state.seen = acted(Seen.from_dict(state.seen), facts).to_dict()
        state.candidate, state.step, state.step_started_at = None, 0, None
        state.detail = {"trigger": "; ".join(reasons), "started": facts.now}
        self._move(state, "training", state.detail["trigger"])
        return True
