"""A loop's way out: approval, then the canary (or blue-green or direct) and its steps,
each judged on the traffic since it began."""

from __future__ import annotations

import time
from typing import Any

from shipway.automation.canary import Evidence, errors_since, judge_step
from shipway.automation.gate import Verdict
from shipway.automation.loop_moves import ACTOR, reason_of
from shipway.automation.loops import Loop, Rollout
from shipway.automation.training import Training
from shipway.errors import NotFound, PolicyViolation, ShipwayError
from shipway.monitoring.traffic import load_traffic
from shipway.serving.prediction_log import read_health
from shipway.store.loop_store import LoopState
from shipway.types import Deployment, Stage, Strategy

WIDE_Z = 3.0  # a gain three standard errors wide: one-sided, by chance once in 700


class Rollouts(Training):
    def _release(self, loop: Loop, state: LoopState) -> None:
        if loop.approval == "auto":
            self._move(state, "ready", f"version {state.candidate} is approved automatically")
            return
        verdict = state.detail.get("verdict")
        scores = f" ({Verdict(**verdict).summary()})" if verdict else ""
        self._move(
            state,
            "waiting_approval",
            f"version {state.candidate} passed the gate{scores} and waits for approval: "
            f"shipway models approve {self._model(loop)} {state.candidate}",
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

    def _start_rollout(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        rollout, name, version = loop.rollout, loop.deployment, state.candidate
        verdict = state.detail.get("verdict") or {}
        if not verdict.get("passed"):  # automation never ships what did not pass
            self._move(state, "rejected", f"version {version} has no passing verdict")
            return
        champion_changed = deployment.stable != state.detail.get("champion", deployment.stable)
        if champion_changed and not self._regate(loop, state, deployment):
            return  # rejected against the new champion, or waiting to be judged
        reason = f"the loop: {state.detail.get('trigger', '')}; the gate passed"
        try:
            if rollout.strategy == "direct":
                self.acting.deployments.deploy(
                    name, model=deployment.model, version=version or 0, reason=reason
                )
                self._move(state, "promoted", f"version {version} serves all traffic")
                return
            strategy = Strategy.CANARY if rollout.strategy == "canary" else Strategy.BLUE_GREEN
            first, wide = self._first_step(rollout, verdict)
            weight = float(rollout.steps[first]) if rollout.strategy == "canary" else None
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
        state.step, state.step_started_at = first, time.time()
        message = f"version {version} is a canary at {rollout.steps[first]}%"
        if wide is not None:
            state.detail["wide_margin"] = wide
            message += (
                f": its gate gain of {wide['gain']:.4g} (z {wide['z']:.1f}) is wider than "
                f"{rollout.wide_margin:g} and significant, so it skips "
                f"{', '.join(f'{s}%' for s in rollout.steps[:first])}"
            )
        self._move(state, "canary", message)

    @staticmethod
    def _first_step(rollout: Rollout, verdict: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """The canary's first step: the first, or, for a gate gain wider than the rollout's
        ``wide_margin`` and significant (z >= WIDE_Z), the last below 100, with that evidence."""
        margin = verdict.get("margin")
        if rollout.wide_margin is None or not margin or len(rollout.steps) < 3:
            return 0, None
        if margin["gain"] < rollout.wide_margin or margin["z"] < WIDE_Z:
            return 0, None
        last = len(rollout.steps) - 2
        return last, {**margin, "wide_margin": rollout.wide_margin, "z_needed": WIDE_Z}

    def _judge_step(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        name, rollout = loop.deployment, loop.rollout
        if deployment.candidate != state.candidate or deployment.strategy != Strategy.CANARY:
            was, state.candidate = state.candidate, None
            self._move(state, "idle", f"the canary of version {was} was changed by hand")
            return
        now = time.time()
        since = state.step_started_at or now
        verdict = state.detail.get("verdict") or {}
        evidence = self._evidence(loop, deployment, since, now, verdict.get("calibration"))
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
            # only traffic stalls a step: a min_minutes floor is a wait the policy asked for
            short = evidence.requests.get("candidate", 0) < rollout.min_requests
            stalled = short and waited > rollout.max_wait_minutes
            if stalled:
                message += f" (for {waited:.0f} minutes: too little traffic to judge)"
            if stalled and not state.detail.get("warned"):
                state.detail["warned"] = True
                self._move(state, "canary", message)
                self._alert(loop, "canary stalled", "warning", state)
            elif state.detail.get("message") != message:
                state.detail["message"] = message
                self.store.save(state, actor=ACTOR)
            return
        nxt = state.step + 1
        shown = evidence.summary()
        if nxt >= len(rollout.steps) or rollout.steps[nxt] >= 100:
            unpassed = self._unpassed(loop, state, deployment)
            if unpassed is not None:  # automation never promotes what did not pass
                self._hold(
                    loop,
                    state,
                    f"canary passed at {weight}% ({shown}), but version {state.candidate} is "
                    f"not promoted by the loop: {unpassed}. Promote it by hand (shipway deploy "
                    f"promote {name}) or roll it back",
                    "promotion held",
                    "warning",
                )
                return
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
        self._hold(loop, state, message, "approval wanted", "info")

    def _hold(self, loop: Loop, state: LoopState, message: str, what: str, severity: str) -> None:
        """The canary stays at its step, still judged (a failure still rolls it back), and
        people are told once, by an alert ``loop: WHAT``."""
        if state.detail.get("message") == message:
            return
        told = state.detail.setdefault("told", [])
        first = what not in told
        if first:
            told.append(what)
        state.detail["message"] = message
        self.store.save(state, actor=ACTOR)
        if first:
            self._alert(loop, what, severity, state)

    def _unpassed(self, loop: Loop, state: LoopState, deployment: Deployment) -> str | None:
        """Why the loop may not promote its canary (None: its version passed the gate). The
        loop's own candidates were judged before they went out; a canary deployed by hand is
        judged now, against the champion it would replace."""
        verdict = state.detail.get("verdict")
        if verdict is not None:
            return (
                None
                if verdict["passed"]
                else f"it failed the gate: {'; '.join(verdict['reasons'])}"
            )
        if loop.gate is None:
            return "the loop has no gate, and a loop without one passes nothing"
        try:
            version = self.session.registry.get_version(deployment.model, state.candidate or 0)
            holdout, holdout_name, label, _ = self._holdout(loop, deployment, version.version)
            judged = self._gate(loop, version, deployment, holdout, holdout_name, label)
        except Exception as exc:  # too few labels yet: asked again next round
            return f"the gate cannot judge it yet ({reason_of(exc)})"
        state.detail["verdict"] = judged.to_dict()
        self._record_verdict(version, judged, state)
        return None if judged.passed else f"it failed the gate: {'; '.join(judged.reasons)}"

    def _evidence(
        self,
        loop: Loop,
        deployment: Deployment,
        since: float,
        now: float,
        calibration: dict[str, Any] | None = None,
    ) -> Evidence:
        name = loop.deployment
        traffic = load_traffic(
            None, name, start=since, inputs=[], reader=self.session.predictions.read
        )
        errors = errors_since(read_health(self.session.stores.artifacts, name, start=since), since)
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
            calibration=calibration,
        )

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
