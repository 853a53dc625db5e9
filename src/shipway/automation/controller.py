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

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shipway.automation.canary import Evidence, judge_step
from shipway.automation.gate import Verdict, judge
from shipway.automation.loops import Facts, Loop, Seen, acted, due, loops_from_settings
from shipway.automation.rounds import LEASE, MonitoringRounds
from shipway.errors import InvalidArgument, NotFound, PolicyViolation, ShipwayError
from shipway.session import Session
from shipway.store.loop_store import LoopState, LoopStore
from shipway.types import Deployment, ModelVersion, Stage, Strategy

log = logging.getLogger("shipway.controller")
ACTOR = "shipway-controller"
RESTING = ("idle", "promoted", "rolled_back", "failed", "rejected")
ATTEMPTS = 3  # rounds that may fail (or trainings be interrupted) before a loop gives up
TRIGGER_TAG = "shipway.loop.trigger"
GATE_TAG = "shipway.gate"


class Controller(MonitoringRounds):
    """Monitoring rounds, and after each the loops (``loops``: default ``[loops.*]``)."""

    def __init__(
        self,
        session: Session,
        loops: dict[str, Loop] | None = None,
        *,
        interval_minutes: float | None = None,
    ) -> None:
        super().__init__(session, interval_minutes=interval_minutes)
        self.loops = loops_from_settings(session.settings) if loops is None else loops
        self.acting = session.acting_as(ACTOR)
        self.store = LoopStore(session.stores.db)

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
        from shipway.store.lease_store import LeaseStore

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
        alerts = _open_alerts(self.session)
        datasets = _dataset_versions(self.session, self.loops.values())
        out = {}
        for name, loop in self.loops.items():
            facts = Facts(now, datasets, alerts.get(name, {}), 0)
            try:
                if any(t.kind == "labels" for t in loop.triggers):
                    known = states.get(name)
                    seen = Seen.from_dict(known.seen) if known and known.seen else None
                    new, facts.newest_label = _labels_after(
                        self.session, name, seen.labels_until if seen else None
                    )
                    facts.labelled_rows = (seen.labels_at_training if seen else 0) + new
                out[name] = self._advance(loop, states.get(name), facts)
            except Exception as exc:  # one broken loop must not stop the others
                log.exception("loop %s: %s", name, exc)
        return out

    # -- the state machine ---------------------------------------------------------------
    def _advance(self, loop: Loop, state: LoopState | None, facts: Facts) -> LoopState:
        name = loop.deployment
        if state is None:
            state = LoopState(name, seen=Seen.starting(facts).to_dict())
            self._move(state, "idle", "the loop starts; what exists now is not news")
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

    def _fault(self, loop: Loop, state: LoopState, exc: Exception) -> None:
        """A round that raised: retried next round, and after ``ATTEMPTS`` the loop gives up,
        taking its candidate out of the traffic, so nothing is left half made."""
        why = _why(exc)
        faults = int(state.detail.get("faults", 0)) + 1
        state.detail["faults"] = faults
        log.warning("loop %s: %s (%d of %d)", loop.deployment, why, faults, ATTEMPTS)
        if faults < ATTEMPTS:
            state.detail["message"] = f"a round failed ({faults} of {ATTEMPTS}): {why}"
            self.store.save(state, actor=ACTOR)
            return
        self._abandon(loop, state, f"{ATTEMPTS} rounds failed: {why}")

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

    def _move(self, state: LoopState, to: str, reason: str) -> None:
        before, state.state = state.state, to
        state.detail["message"] = reason
        self.store.save(state, actor=ACTOR, action=f"loop:{to}", reason=reason, before=before)
        log.info("loop %s: %s (%s)", state.deployment, to, reason)

    def _adopt(self, loop: Loop, state: LoopState, deployment: Deployment) -> LoopState | None:
        """A canary started by hand on a deployment with a rollout policy is judged too."""
        if deployment.strategy != Strategy.CANARY or deployment.candidate is None:
            return None
        steps = loop.rollout.steps
        state.candidate = deployment.candidate
        at_or_under = [i for i, s in enumerate(steps) if s <= deployment.weight]
        state.step = at_or_under[-1] if at_or_under else 0
        state.step_started_at = time.time()
        state.detail = {"trigger": "a canary deployed by hand", "started": time.time()}
        self._move(
            state,
            "canary",
            f"version {deployment.candidate} is a canary at {deployment.weight:g}%: judging it",
        )
        return state

    # -- training and the gate ----------------------------------------------------------------
    def _train(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        from shipway.monitoring.traffic import holding_out

        attempts = int(state.detail.get("attempts", 0)) + 1
        if attempts > ATTEMPTS:  # the process died while training, again and again
            self._abandon(loop, state, f"training was interrupted {ATTEMPTS} times")
            return
        state.detail["attempts"] = attempts  # saved first: a crash mid-pipeline is counted
        self.store.save(state, actor=ACTOR)
        try:
            holdout, holdout_name, label, since = self._holdout(loop)
            with holding_out(loop.deployment, since):
                version = self._run_pipeline(loop, state, deployment, loop.params)
        except Exception as exc:
            why = _why(exc)
            state.detail["error"] = why
            self._move(state, "failed", f"the pipeline failed: {why}; the champion serves on")
            self._alert(loop, "pipeline failed", "warning", state)
            return
        state.candidate = version.version
        state.detail["champion"] = deployment.stable
        try:
            verdict = self._gate(loop, version, deployment, holdout, holdout_name, label)
        except Exception as exc:
            why = _why(exc)
            state.detail["error"] = why
            self._move(
                state, "failed", f"the gate could not judge version {version.version}: {why}"
            )
            self._alert(loop, "gate failed", "warning", state)
            return
        state.detail["verdict"] = verdict.to_dict()
        self._record_verdict(version, verdict, state)
        if not verdict.passed:
            self._move(
                state,
                "rejected",
                f"version {version.version} failed the gate: {'; '.join(verdict.reasons)}",
            )
            self._alert(loop, "gate failed", "warning", state)
            return
        passed = f"version {version.version} passed the gate: {_scores(verdict)}"
        if loop.gate is not None and loop.gate.refit:  # still training: a crash refits again
            self._refit(loop, state, deployment, version, passed)
            return
        self._move(state, "gated", passed)

    def _holdout(self, loop: Loop) -> tuple[Any, str, str, float | None]:
        """The gate's rows, their name, their label column, and (for traffic) the time from
        which the pipeline may not learn."""
        gate = loop.gate
        if gate is None:
            return None, "none", "label", None
        if gate.holdout is not None:
            if "@" not in gate.holdout:
                raise InvalidArgument(
                    f"gate holdout {gate.holdout!r} is not a dataset NAME@VERSION",
                    hint="a fixed version, so both models are judged on the same rows",
                )
            frame = self.session.datasets.load(gate.holdout)
            label = gate.label or self.session.settings.monitoring.labels.get(
                loop.deployment, "label"
            )
            return frame, gate.holdout, label, None
        import shipway as sw

        with _session(self.session):
            labelled = sw.labelled_traffic(loop.deployment)
        if not len(labelled):
            raise InvalidArgument(
                f"deployment {loop.deployment} has no labelled traffic for the gate to judge on",
                hint="log ground truth (shipway labels / sw.log_ground_truth) or name a "
                "holdout dataset in the gate",
            )
        if len(labelled) <= gate.holdout_rows:
            raise InvalidArgument(
                f"deployment {loop.deployment} has {len(labelled)} labelled rows: the gate holds "
                f"out {gate.holdout_rows}, which leaves none to learn from",
                hint="wait for more labels (a labels:N trigger), or lower holdout_rows",
            )
        cutoff = float(labelled["timestamp"].iloc[-gate.holdout_rows])
        rows = labelled[labelled["timestamp"] >= cutoff].reset_index(drop=True)
        name = f"traffic of {loop.deployment}: the newest {len(rows)} labelled rows"
        return rows, name, "label", cutoff

    def _run_pipeline(
        self, loop: Loop, state: LoopState, deployment: Deployment, params: dict[str, Any]
    ) -> ModelVersion:
        from shipway.pipelines.pipeline import load
        from shipway.tracking.model_logging import log_model

        tracking = self.acting.tracking
        # No step cache: new labels change what a step reads without changing its inputs.
        with _session(self.acting), self._heartbeat():
            run = load(loop.pipeline).run(tracking=tracking, cache=False, **params)
        trigger = state.detail.get("trigger", "")
        tracking.set_tags(run.run_id, {TRIGGER_TAG: trigger, "shipway.loop": loop.deployment})
        returned = run.returned
        if isinstance(returned, ModelVersion):
            if returned.name != deployment.model:
                raise InvalidArgument(
                    f"the pipeline registered {returned.name}, but {loop.deployment} serves "
                    f"{deployment.model}"
                )
            return returned
        if returned is None or isinstance(returned, (str, int, float, dict, list, tuple)):
            raise InvalidArgument(
                f"pipeline {loop.pipeline} returned {type(returned).__name__}: a loop's pipeline "
                "returns a fitted model or a ModelVersion"
            )
        signature, example = self._champion_interface(deployment)
        log_model(
            tracking, run.run_id, returned, "model", signature=signature, input_example=example
        )
        return self.acting.registry.register(
            run.run_id, deployment.model, description=f"trained by the loop: {trigger}"
        )

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """Renew the lease while a pipeline runs, so a long training does not let another
        process take it and act on the same loop meanwhile."""
        from shipway.store.lease_store import LeaseStore

        leases = LeaseStore(self.session.stores.db)
        if leases.holder(LEASE) != self.holder:
            yield  # a round run by hand (tests, sw API): no lease to keep
            return
        seconds = max(2 * self.interval, 600.0)
        done = threading.Event()

        def beat() -> None:
            while not done.wait(30.0):
                try:
                    leases.claim(LEASE, self.holder, seconds)
                except ShipwayError as exc:
                    log.warning("could not renew the lease: %s", exc)

        thread = threading.Thread(target=beat, name="shipway-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=5)

    def _champion_interface(self, deployment: Deployment) -> tuple[Any, Any]:
        """The champion's signature and input example: the new version takes the same input."""
        if deployment.stable is None:
            return None, None
        try:
            loaded = self.session.registry.load(f"models:/{deployment.model}/{deployment.stable}")
        except ShipwayError:
            return None, None
        return loaded.signature, loaded.input_example

    def _gate(
        self,
        loop: Loop,
        version: ModelVersion,
        deployment: Deployment,
        holdout: Any,
        holdout_name: str,
        label: str,
    ) -> Verdict:
        if loop.gate is None:
            return Verdict(
                False, "-", None, None, "none", 0, ["the loop has no gate: it passes nothing"]
            )
        registry = self.session.registry
        candidate = registry.load(version.uri)
        champion = None
        if deployment.stable is not None and deployment.stable != version.version:
            champion = registry.load(f"models:/{deployment.model}/{deployment.stable}")
        return judge(loop.gate, candidate, champion, holdout, label, holdout_name=holdout_name)

    def _record_verdict(self, version: ModelVersion, verdict: Verdict, state: LoopState) -> None:
        """The verdict with the version: a tag on its run, and the registry's audit log."""
        from shipway.store.audit import append_event
        from shipway.store.registry_store import model_entity

        summary = f"{'passed' if verdict.passed else 'failed'}: {_scores(verdict)}"
        if version.run_id:
            self.acting.tracking.set_tags(version.run_id, {GATE_TAG: summary[:4000]})
        details = {**verdict.to_dict(), "trigger": state.detail.get("trigger", "")}
        with self.session.stores.db.write() as conn:
            append_event(
                conn,
                ACTOR,
                model_entity(version.name),
                "gate:passed" if verdict.passed else "gate:failed",
                None,
                str(version.version),
                summary,
                details,
            )

    def _refit(
        self,
        loop: Loop,
        state: LoopState,
        deployment: Deployment,
        passed: ModelVersion,
        why_passed: str,
    ) -> None:
        """Train once more on every row, the holdout too: the version that ships has seen the
        newest data; it inherits the verdict of the version that passed."""
        try:
            version = self._run_pipeline(loop, state, deployment, loop.params)
        except Exception as exc:
            why = _why(exc)
            state.detail["error"] = why
            self._move(state, "failed", f"the refit failed: {why}; the champion serves on")
            self._alert(loop, "pipeline failed", "warning", state)
            return
        verdict = Verdict(**state.detail["verdict"])
        verdict.holdout = f"{verdict.holdout} (refit of version {passed.version}, which passed)"
        state.candidate = version.version
        state.detail["refit_of"] = passed.version
        self._record_verdict(version, verdict, state)
        self._move(
            state, "gated", f"{why_passed}; version {version.version} is its refit on every row"
        )

    # -- approval -----------------------------------------------------------------------------
    def _release(self, loop: Loop, state: LoopState) -> None:
        if loop.approval == "auto":
            self._move(state, "ready", f"version {state.candidate} is approved automatically")
            return
        self._move(
            state,
            "waiting_approval",
            f"version {state.candidate} waits for approval: shipway models approve "
            f"{self._model(loop)} {state.candidate}",
        )
        self._alert(loop, "approval wanted", "info", state)

    def _approved(self, loop: Loop, state: LoopState) -> None:
        model = self._model(loop)
        registered = self.session.registry.get_model(model)
        try:
            version = self.session.registry.get_version(model, state.candidate or 0)
        except NotFound:
            self._move(state, "rejected", f"version {state.candidate} is gone: not approved")
            return
        if version.stage == Stage.ARCHIVED:
            self._move(state, "rejected", f"version {state.candidate} was archived, not approved")
            return
        valid = [
            a
            for a in self.session.registry.approvals(model, version.version)
            if not (registered.two_person_rule and a.user == version.created_by)
        ]
        if len(valid) >= max(1, registered.required_approvals):
            who = ", ".join(sorted({a.user for a in valid}))
            self._move(state, "ready", f"version {state.candidate} approved by {who}")

    def _model(self, loop: Loop) -> str:
        return self.session.deployments.get(loop.deployment).model

    # -- the rollout ----------------------------------------------------------------------
    def _start_rollout(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        rollout, name, version = loop.rollout, loop.deployment, state.candidate
        verdict = state.detail.get("verdict") or {}
        if not verdict.get("passed"):  # automation never ships what did not pass
            self._move(state, "rejected", f"version {version} has no passing verdict")
            return
        if deployment.stable != state.detail.get("champion", deployment.stable):
            self._regate(loop, state, deployment)
            if state.state != "ready":
                return
        reason = f"the loop: {state.detail.get('trigger', '')}; the gate passed"
        try:
            if rollout.strategy == "direct":
                self.acting.deployments.deploy(
                    name, model=deployment.model, version=version or 0, reason=reason
                )
                self._move(state, "promoted", f"version {version} serves all traffic")
                return
            strategy = Strategy.CANARY if rollout.strategy == "canary" else Strategy.BLUE_GREEN
            weight = float(rollout.steps[0]) if rollout.strategy == "canary" else None
            self.acting.deployments.deploy(
                name,
                model=deployment.model,
                version=version or 0,
                strategy=strategy,
                weight=weight,
                reason=reason,
            )
        except ShipwayError as exc:
            state.detail["error"] = str(exc)
            self._move(state, "failed", f"version {version} could not go out: {exc}")
            self._alert(loop, "rollout failed", "warning", state)
            return
        if rollout.strategy == "blue-green":
            self.acting.deployments.promote(name, reason=f"blue-green switch: {reason}")
            self._move(state, "promoted", f"version {version} switched in (blue-green)")
            return
        state.step, state.step_started_at = 0, time.time()
        self._move(state, "canary", f"version {version} is a canary at {rollout.steps[0]}%")

    def _regate(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        """The champion changed since the gate judged (a deploy by hand while the candidate
        waited): the candidate is judged again, against the champion it would replace."""
        version = self.session.registry.get_version(self._model(loop), state.candidate or 0)
        holdout, holdout_name, label, _ = self._holdout(loop)
        before = state.detail.get("champion")
        verdict = self._gate(loop, version, deployment, holdout, holdout_name, label)
        state.detail.update(verdict=verdict.to_dict(), champion=deployment.stable)
        self._record_verdict(version, verdict, state)
        if not verdict.passed:
            self._move(
                state,
                "rejected",
                f"the champion is now version {deployment.stable} (was {before}): version "
                f"{version.version} fails against it: {'; '.join(verdict.reasons)}",
            )
            self._alert(loop, "gate failed", "warning", state)
            return
        state.detail["message"] = f"judged again against version {deployment.stable}: passed"

    def _judge_step(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        name, rollout = loop.deployment, loop.rollout
        if deployment.candidate != state.candidate or deployment.strategy != Strategy.CANARY:
            self._move(
                state, "idle", f"the canary of version {state.candidate} was changed by hand"
            )
            return
        now = time.time()
        since = state.step_started_at or now
        evidence = self._evidence(loop, deployment, since, now)
        state.detail["evidence"] = evidence.to_dict()
        state.step = min(state.step, len(rollout.steps) - 1)  # the steps may have been edited
        weight = rollout.steps[state.step]
        if evidence.decision == "fail":
            why = "; ".join(evidence.reasons)
            self.acting.deployments.rollback(name, reason=f"canary analysis at {weight}%: {why}")
            self._move(
                state, "rolled_back", f"version {state.candidate} rolled back at {weight}%: {why}"
            )
            self._alert(loop, "canary rolled back", "critical", state)
            return
        if evidence.decision == "wait":
            waited = (now - since) / 60
            message = f"canary at {weight}% waits: {'; '.join(evidence.reasons)}"
            if waited > rollout.max_wait_minutes and not state.detail.get("warned"):
                state.detail["warned"] = True
                message += f" (for {waited:.0f} minutes: too little traffic to judge)"
                self._move(state, "canary", message)
                self._alert(loop, "canary stalled", "warning", state)
            elif state.detail.get("message") != message:
                state.detail["message"] = message
                self.store.save(state, actor=ACTOR)
            return
        nxt = state.step + 1
        shown = _evidence_line(evidence)
        if nxt >= len(rollout.steps) or rollout.steps[nxt] >= 100:
            try:
                self.acting.deployments.promote(name, reason=f"canary passed at {weight}%: {shown}")
            except PolicyViolation as exc:  # the model's policy wants people to approve it
                self._held_for_approval(loop, state, weight, shown, exc)
                return
            state.step = len(rollout.steps) - 1
            self._move(state, "promoted", f"version {state.candidate} promoted: {shown}")
            return
        self.acting.deployments.set_weight(
            name, float(rollout.steps[nxt]), reason=f"canary passed at {weight}%: {shown}"
        )
        state.step, state.step_started_at = nxt, now
        state.detail.pop("warned", None)
        self._move(
            state, "canary", f"version {state.candidate} advances to {rollout.steps[nxt]}%: {shown}"
        )

    def _held_for_approval(
        self, loop: Loop, state: LoopState, weight: int, shown: str, exc: PolicyViolation
    ) -> None:
        """A canary that passed but may not be promoted yet (a canary deployed by hand, or a
        policy stricter than the loop's approval): it stays at its step, and people are told
        once; each round tries again."""
        message = (
            f"canary passed at {weight}% ({shown}), but {exc.message}: "
            f"shipway models approve {self._model(loop)} {state.candidate}"
        )
        if state.detail.get("message") == message:
            return
        first = not state.detail.get("asked")
        state.detail.update(message=message, asked=True)
        self.store.save(state, actor=ACTOR)
        if first:
            self._alert(loop, "approval wanted", "info", state)

    def _evidence(self, loop: Loop, deployment: Deployment, since: float, now: float) -> Evidence:
        from shipway.monitoring.traffic import load_traffic
        from shipway.serving.prediction_log import read_health

        name = loop.deployment
        traffic = load_traffic(
            None, name, start=since, inputs=[], reader=self.session.predictions.read
        )
        errors: dict[str, int] = {}
        for record in read_health(self.session.stores.artifacts, name, start=since):
            if record.get("time", 0) < since:
                continue
            for version, n in record.get("errors_by_version", {}).items():
                errors[version] = errors.get(version, 0) + int(n)
        gate = loop.gate
        return judge_step(
            loop.rollout,
            traffic,
            errors,
            stable=deployment.stable or 0,
            candidate=deployment.candidate or 0,
            minutes=(now - since) / 60,
            metric=gate.metric if gate is not None else None,
            lower_is_better=gate.lower_is_better if gate is not None else False,
        )

    # -- alerts -----------------------------------------------------------------------------
    def _alert(self, loop: Loop, what: str, severity: str, state: LoopState) -> None:
        """An alert of the loop (rule ``loop: WHAT``), told to the loop's sinks."""
        from shipway.automation.sinks import Outbox
        from shipway.monitoring.alerts import payload
        from shipway.store.alert_store import AlertStore

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


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, ShipwayError) else f"{type(exc).__name__}: {exc}"


def _scores(verdict: Verdict) -> str:
    def shown(value: float | None) -> str:
        return "-" if value is None else f"{value:.4g}"

    text = f"{verdict.metric} {shown(verdict.candidate)}"
    if verdict.champion is not None:
        text += f" against the champion's {shown(verdict.champion)}"
    return f"{text} on {verdict.rows} rows ({verdict.holdout})"


def _evidence_line(evidence: Evidence) -> str:
    parts = [f"{evidence.requests.get('candidate', 0)} requests"]
    if evidence.error_rate is not None:
        parts.append(f"error rate {evidence.error_rate:.1%}")
    if evidence.latency_ratio is not None:
        parts.append(f"latency p99 ×{evidence.latency_ratio:.2f}")
    metric = evidence.metric
    if metric.get("candidate") is not None and metric.get("stable") is not None:
        parts.append(f"{metric['name']} {metric['candidate']:.3f} vs {metric['stable']:.3f}")
    return ", ".join(parts)


class _session:
    """The fluent API's session while a loop's pipeline runs in this controller."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> None:
        from shipway import session as sessions

        with sessions._guard:
            self.before = sessions._current
            sessions._current = self.session

    def __exit__(self, *_: Any) -> None:
        from shipway import session as sessions

        with sessions._guard:
            sessions._current = self.before


def _open_alerts(session: Session) -> dict[str, dict[str, list[int]]]:
    from shipway.store.alert_store import AlertStore

    out: dict[str, dict[str, list[int]]] = {}
    for alert in AlertStore(session.stores.db).list():
        out.setdefault(alert.deployment, {}).setdefault(alert.rule, []).append(alert.alert_id)
    return out


def _dataset_versions(session: Session, loops: Any) -> dict[str, int]:
    if not any(t.kind == "dataset" for loop in loops for t in loop.triggers):
        return {}
    from shipway.store.dataset_store import DatasetStore

    return {name: v for name, v, _ in DatasetStore(session.stores.db).list_datasets()}


def _labels_after(
    session: Session, deployment: str, until: float | None
) -> tuple[int, float | None]:
    """How many labels arrived after ``until`` (all of them for None), and when the newest
    did: counted from a time, not as a total, since the log's old days expire."""
    from shipway.serving.prediction_log import GROUND_TRUTH, log_keys

    artifacts = session.stores.artifacts
    if not log_keys(artifacts, GROUND_TRUTH, deployment, ".parquet", start=until):
        return 0, until  # no label since: no need to start a reader
    labels = session.predictions.read(deployment, GROUND_TRUTH, columns=["timestamp"], start=until)
    if not len(labels):
        return 0, until
    times = labels["timestamp"]
    later = times if until is None else times[times > until]
    newest = float(later.max()) if len(later) else until
    return int(len(later)), newest
