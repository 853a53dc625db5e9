"""A loop's way out: the rollout of a ready candidate (canary, blue-green or direct) and
the canary's steps, each judged on the traffic since it began."""

from __future__ import annotations

import time
from typing import Any

from shipway.automation.canary import Evidence, errors_since, judge_step
from shipway.automation.holdouts import Holdouts
from shipway.automation.journal import Journal, reason_of
from shipway.automation.judging import GateJudge
from shipway.automation.loops import Loop, Rollout
from shipway.errors import InvalidArgument, PolicyViolation, ShipwayError
from shipway.monitoring.traffic import load_traffic
from shipway.store.loop_state import LoopDetail, LoopState, Phase
from shipway.types import Deployment, Strategy

WIDE_Z = 3.0  # a gain three standard errors wide: one-sided, by chance once in 700


def first_step(rollout: Rollout, verdict: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The canary's first step: the first, or, for a gate gain wider than the rollout's
    ``wide_margin`` and significant (z >= WIDE_Z), the last below 100, with that evidence."""
    margin = verdict.get("margin")
    if rollout.wide_margin is None or not margin or len(rollout.steps) < 3:
        return 0, None
    if margin["gain"] < rollout.wide_margin or margin["z"] < WIDE_Z:
        return 0, None
    last = len(rollout.steps) - 2
    return last, {**margin, "wide_margin": rollout.wide_margin, "z_needed": WIDE_Z}


class Rollouts:
    """Moves a loop from ``ready`` out (``canary``, ``promoted``, ``rejected``, ``failed``)
    and a canary step by step (the next step, ``promoted``, ``rolled_back``)."""

    def __init__(self, journal: Journal, holdouts: Holdouts, judge: GateJudge) -> None:
        self.journal, self.holdouts, self.judge = journal, holdouts, judge
        self.session, self.acting = journal.session, journal.acting

    def start(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        rollout, name, version, journal = (
            loop.rollout,
            loop.deployment,
            state.candidate,
            self.journal,
        )
        detail = state.detail
        verdict = detail.verdict or {}
        if not verdict.get("passed"):  # automation never ships what did not pass
            journal.move(state, Phase.REJECTED, f"version {version} has no passing verdict")
            return
        judged_against = detail.champion if detail.champion_known else deployment.stable
        if deployment.stable != judged_against and not self._regate(loop, state, deployment):
            return  # rejected against the new champion, or waiting to be judged
        reason = f"the loop: {detail.trigger or ''}; the gate passed"
        try:
            if rollout.strategy == "direct":
                self.acting.deployments.deploy(
                    name, model=deployment.model, version=version or 0, reason=reason
                )
                journal.move(state, Phase.PROMOTED, f"version {version} serves all traffic")
                return
            strategy = Strategy.CANARY if rollout.strategy == "canary" else Strategy.BLUE_GREEN
            first, wide = first_step(rollout, verdict)
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
            detail.error = str(exc)
            journal.move(state, Phase.FAILED, f"version {version} could not go out: {exc}")
            journal.alert(loop, "rollout failed", "warning", state)
            return
        if rollout.strategy == "blue-green":
            self.acting.deployments.promote(name, reason=f"blue-green switch: {reason}")
            journal.move(state, Phase.PROMOTED, f"version {version} switched in (blue-green)")
            return
        state.step, state.step_started_at = first, time.time()
        message = f"version {version} is a canary at {rollout.steps[first]}%"
        if wide is not None:
            detail.wide_margin = wide
            message += (
                f": its gate gain of {wide['gain']:.4g} (z {wide['z']:.1f}) is wider than "
                f"{rollout.wide_margin:g} and significant, so it skips "
                f"{', '.join(f'{s}%' for s in rollout.steps[:first])}"
            )
        journal.move(state, Phase.CANARY, message)

    def judge_step(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        name, rollout, journal, detail = loop.deployment, loop.rollout, self.journal, state.detail
        if deployment.candidate != state.candidate or deployment.strategy != Strategy.CANARY:
            was, state.candidate = state.candidate, None
            journal.move(state, Phase.IDLE, f"the canary of version {was} was changed by hand")
            return
        now = time.time()
        since = state.step_started_at or now
        calibration = (detail.verdict or {}).get("calibration")
        evidence = self.evidence(loop, deployment, since, now, calibration)
        detail.evidence = evidence.to_dict()
        state.step = min(state.step, len(rollout.steps) - 1)  # the steps may have been edited
        weight = rollout.steps[state.step]
        if evidence.decision == "fail":
            why = "; ".join(evidence.reasons)
            self.acting.deployments.rollback(name, reason=f"canary analysis at {weight}%: {why}")
            journal.move(
                state,
                Phase.ROLLED_BACK,
                f"version {state.candidate} rolled back at {weight}%: {why}",
            )
            journal.alert(loop, "canary rolled back", "critical", state)
            return
        if evidence.decision == "wait":
            waited = (now - since) / 60
            message = f"canary at {weight}% waits: {'; '.join(evidence.reasons)}"
            # only traffic stalls a step: a min_minutes floor is a wait the policy asked for
            short = evidence.requests.get("candidate", 0) < rollout.min_requests
            stalled = short and waited > rollout.max_wait_minutes
            if stalled:
                message += f" (for {waited:.0f} minutes: too little traffic to judge)"
            if stalled and not detail.warned:
                detail.warned = True
                journal.move(state, Phase.CANARY, message)
                journal.alert(loop, "canary stalled", "warning", state)
            else:
                journal.note(state, message)
            return
        nxt = state.step + 1
        shown = evidence.summary()
        if nxt >= len(rollout.steps) or rollout.steps[nxt] >= 100:
            self._promote(loop, state, deployment, weight, shown)
            return
        self.acting.deployments.set_weight(
            name, float(rollout.steps[nxt]), reason=f"canary passed at {weight}%: {shown}"
        )
        state.step, state.step_started_at = nxt, now
        detail.warned = False
        journal.move(
            state,
            Phase.CANARY,
            f"version {state.candidate} advances to {rollout.steps[nxt]}%: {shown}",
        )

    def _promote(
        self, loop: Loop, state: LoopState, deployment: Deployment, weight: int, shown: str
    ) -> None:
        """The last step passed: promoted, unless its version did not pass the gate or the
        model's policy wants people to approve it first."""
        name = loop.deployment
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
            message = (
                f"canary passed at {weight}% ({shown}), but {exc.message}: "
                f"shipway models approve {self.journal.model(loop)} {state.candidate}"
            )
            self._hold(loop, state, message, "approval wanted", "info")
            return
        state.step = len(loop.rollout.steps) - 1
        self.journal.move(state, Phase.PROMOTED, f"version {state.candidate} promoted: {shown}")

    def _hold(self, loop: Loop, state: LoopState, message: str, what: str, severity: str) -> None:
        """The canary stays at its step, still judged (a failure still rolls it back), and
        people are told once, by an alert ``loop: WHAT``; each round tries again."""
        if state.detail.message == message:
            return
        told = state.detail.told
        first = what not in told
        if first:
            told.append(what)
        self.journal.note(state, message)
        if first:
            self.journal.alert(loop, what, severity, state)

    def _unpassed(self, loop: Loop, state: LoopState, deployment: Deployment) -> str | None:
        """Why the loop may not promote its canary (None: its version passed the gate). The
        loop's own candidates were judged before they went out; a canary deployed by hand is
        judged now, against the champion it would replace."""
        verdict = state.detail.verdict
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
            holdout = self.holdouts.of(loop, deployment, version.version)
            judged = self.judge.judge(loop, version, deployment, holdout)
        except Exception as exc:  # too few labels yet: asked again next round
            return f"the gate cannot judge it yet ({reason_of(exc)})"
        state.detail.verdict = judged.to_dict()
        self.judge.record(version, judged, state.detail.trigger)
        return None if judged.passed else f"it failed the gate: {'; '.join(judged.reasons)}"

    def _regate(self, loop: Loop, state: LoopState, deployment: Deployment) -> bool:
        """The champion changed since the gate judged (a deploy by hand while the candidate
        waited): the candidate is judged again, against the champion it would replace. True
        when it passed; it waits (False, still ready) while too few rows are new to both."""
        version = self.session.registry.get_version(deployment.model, state.candidate or 0)
        try:
            holdout = self.holdouts.of(loop, deployment, state.candidate)
        except InvalidArgument as exc:  # a refit learnt from everything up to its making
            self.journal.note(
                state,
                f"the champion is now version {deployment.stable}: version {version.version} "
                f"is judged against it once it can be: {exc.message}",
            )
            return False
        before = state.detail.champion
        verdict = self.judge.judge(loop, version, deployment, holdout)
        state.detail.verdict = verdict.to_dict()
        state.detail.judged_against(deployment.stable)
        self.judge.record(version, verdict, state.detail.trigger)
        if not verdict.passed:
            self.journal.move(
                state,
                Phase.REJECTED,
                f"the champion is now version {deployment.stable} (was {before}): version "
                f"{version.version} fails against it: {'; '.join(verdict.reasons)}",
            )
            self.journal.alert(loop, "gate failed", "warning", state)
            return False
        state.detail.message = f"judged again against version {deployment.stable}: passed"
        return True

    def evidence(
        self,
        loop: Loop,
        deployment: Deployment,
        since: float,
        now: float,
        calibration: dict[str, Any] | None = None,
    ) -> Evidence:
        """The canary step's evidence: both versions' traffic and errors since ``since``."""
        name = loop.deployment
        traffic = load_traffic(
            None, name, start=since, inputs=[], reader=self.session.predictions.read
        )
        errors = errors_since(self.journal.records.health(name, start=since), since)
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

    def adopt(self, loop: Loop, state: LoopState, deployment: Deployment) -> bool:
        """A canary started by hand on a deployment with a loop is judged too (True)."""
        if deployment.strategy != Strategy.CANARY or deployment.candidate is None:
            return False
        steps = loop.rollout.steps
        state.candidate = deployment.candidate
        at_or_under = [i for i, s in enumerate(steps) if s <= deployment.weight]
        state.step = at_or_under[-1] if at_or_under else 0
        state.step_started_at = time.time()
        state.detail = LoopDetail(trigger="a canary deployed by hand", started=time.time())
        self.journal.move(
            state,
            Phase.CANARY,
            f"version {deployment.candidate} is a canary at {deployment.weight:g}%: judging it",
        )
        return True
