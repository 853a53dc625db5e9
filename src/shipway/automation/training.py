"""A loop's training: the holdout fixed, the pipeline run, the candidate registered and
judged by the gate, and refit on every row when the gate says so."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from shipway.automation.gate import Verdict
from shipway.automation.holdouts import LEARNT_BEFORE_TAG, Holdouts
from shipway.automation.journal import ATTEMPTS, Journal, TrainingAbandoned, reason_of
from shipway.automation.judging import GateJudge
from shipway.automation.loops import Loop
from shipway.automation.references import record_reference, tag_registered
from shipway.errors import InvalidArgument, ShipwayError
from shipway.monitoring.traffic import holding_out, recording_learnt
from shipway.pipelines.pipeline import load
from shipway.pipelines.runner import PipelineRun
from shipway.session import Session, using
from shipway.store.loop_state import LoopState, Phase
from shipway.tracking.model_logging import log_model
from shipway.types import Deployment, ModelVersion

TRIGGER_TAG = "shipway.loop.trigger"


class Trainer:
    """Moves a loop out of ``training``: to ``gated``, ``rejected`` or ``failed``.

    ``lease``: the lease kept while a pipeline runs; ``muted``: whether the calling thread
    is a training that ran over its time (it registers nothing)."""

    def __init__(
        self,
        session: Session,
        journal: Journal,
        holdouts: Holdouts,
        judge: GateJudge,
        lease: Callable[[], AbstractContextManager[None]],
        muted: Callable[[], bool],
    ) -> None:
        self.session = session
        self.acting = journal.acting
        self.journal, self.holdouts, self.judge = journal, holdouts, judge
        self.lease, self.muted = lease, muted

    def train(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        detail, journal = state.detail, self.journal
        if detail.attempts + 1 > ATTEMPTS:  # the process died while training, again and again
            journal.abandon(loop, state, f"training was interrupted {ATTEMPTS} times")
            return
        detail.attempts += 1
        journal.save(state)  # saved first: a crash mid-pipeline is counted
        try:
            holdout = self.holdouts.of(loop, deployment)
        except Exception as exc:  # not the pipeline's fault: it did not run
            detail.error = why = reason_of(exc)
            journal.move(
                state,
                Phase.FAILED,
                f"the gate has no holdout to judge on: {why}; the pipeline did not run, and "
                "the champion serves on",
            )
            journal.alert(loop, "gate failed", "warning", state)
            return
        try:
            version = self._run_pipeline(loop, state, deployment, holdout.cutoff)
        except Exception as exc:
            self._pipeline_failed(loop, state, "the pipeline", exc)
            return
        state.candidate = version.version
        detail.judged_against(deployment.stable)
        try:
            verdict = self.judge.judge(loop, version, deployment, holdout)
        except Exception as exc:
            detail.error = why = reason_of(exc)
            journal.move(
                state, Phase.FAILED, f"the gate could not judge version {version.version}: {why}"
            )
            journal.alert(loop, "gate failed", "warning", state)
            return
        detail.verdict = verdict.to_dict()
        self.judge.record(version, verdict, detail.trigger)
        if not verdict.passed:
            journal.move(
                state,
                Phase.REJECTED,
                f"version {version.version} failed the gate: {'; '.join(verdict.reasons)}",
            )
            journal.alert(loop, "gate failed", "warning", state)
            return
        passed = f"version {version.version} passed the gate: {verdict.summary()}"
        if loop.gate is not None and loop.gate.refit:  # still training: a crash refits again
            self._refit(loop, state, deployment, version, passed)
            return
        journal.move(state, Phase.GATED, passed)

    def _pipeline_failed(self, loop: Loop, state: LoopState, what: str, exc: Exception) -> None:
        state.detail.error = why = reason_of(exc)
        self.journal.move(state, Phase.FAILED, f"{what} failed: {why}; the champion serves on")
        self.journal.alert(loop, "pipeline failed", "warning", state)

    def _run_pipeline(
        self, loop: Loop, state: LoopState, deployment: Deployment, since: float | None
    ) -> ModelVersion:
        """The loop's pipeline, learning only from traffic logged before ``since`` (None:
        before it starts, since later rows may be the next gate's exam); the version it made,
        with the trigger and that time on its run."""
        tracking = self.acting.tracking
        learnt_before = time.time() if since is None else since
        # No step cache: new labels change what a step reads without changing its inputs.
        with (
            using(self.acting),
            holding_out(loop.deployment, learnt_before),
            recording_learnt(loop.deployment) as learnt,
            self.lease(),
        ):
            run = load(loop.pipeline).run(tracking=tracking, cache=False, **loop.params)
        trigger = state.detail.trigger or ""
        tags = {
            TRIGGER_TAG: trigger,
            "shipway.loop": loop.deployment,
            LEARNT_BEFORE_TAG: repr(learnt_before),
        }
        tracking.set_tags(run.run_id, tags)
        # what the version is monitored against, recorded before it is registered
        reference = record_reference(self.acting, run, deployment, learnt)
        state.detail.reference = str(reference) if reference else "none: not monitored"
        version = self._version_of(loop, run, deployment, trigger)
        tag_registered(self.acting, version, reference)
        if version.run_id and version.run_id != run.run_id:
            tracking.set_tags(version.run_id, {**tags, "shipway.loop.pipeline_run": run.run_id})
        return version

    def _version_of(
        self, loop: Loop, run: PipelineRun, deployment: Deployment, trigger: str
    ) -> ModelVersion:
        returned = run.returned
        if self.muted():  # ran over its time: register nothing
            raise TrainingAbandoned(loop.deployment)
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
            self.acting.tracking,
            run.run_id,
            returned,
            "model",
            signature=signature,
            input_example=example,
        )
        return self.acting.registry.register(
            run.run_id, deployment.model, description=f"trained by the loop: {trigger}"
        )

    def _champion_interface(self, deployment: Deployment) -> tuple[Any, Any]:
        """The champion's signature and input example: the new version takes the same input."""
        if deployment.stable is None:
            return None, None
        try:
            loaded = self.session.registry.load(f"models:/{deployment.model}/{deployment.stable}")
        except ShipwayError:
            return None, None
        return loaded.signature, loaded.input_example

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
            version = self._run_pipeline(loop, state, deployment, None)
        except Exception as exc:
            self._pipeline_failed(loop, state, "the refit", exc)
            return
        verdict = Verdict(**(state.detail.verdict or {}))
        verdict.holdout = f"{verdict.holdout} (refit of version {passed.version}, which passed)"
        state.candidate = version.version
        state.detail.refit_of = passed.version
        self.judge.record(version, verdict, state.detail.trigger)
        self.journal.move(
            state,
            Phase.GATED,
            f"{why_passed}; version {version.version} is its refit on every row",
        )
