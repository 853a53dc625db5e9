"""A loop's training: the holdout fixed, the pipeline run, the candidate registered and
judged by the gate, and refit on every row when the gate says so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shipway.automation.gate import Verdict, judge
from shipway.automation.loop_moves import (
    ACTOR,
    ATTEMPTS,
    LoopMoves,
    TrainingAbandoned,
    log,
    reason_of,
)
from shipway.automation.loops import Loop
from shipway.automation.references import record_reference, tag_registered
from shipway.automation.rounds import LEASE
from shipway.errors import InvalidArgument, ShipwayError
from shipway.monitoring.labelled import labelled_traffic
from shipway.monitoring.traffic import holding_out, recording_learnt
from shipway.pipelines.pipeline import load
from shipway.session import using
from shipway.store.audit import append_event
from shipway.store.lease_store import LeaseStore
from shipway.store.loop_store import LoopState
from shipway.store.registry_store import model_entity
from shipway.tracking.model_logging import log_model
from shipway.types import Deployment, ModelVersion

TRIGGER_TAG = "shipway.loop.trigger"
GATE_TAG = "shipway.gate"
LEARNT_BEFORE_TAG = "shipway.loop.learnt_before"  # epoch seconds: traffic from then on unseen
MIN_HOLDOUT_ROWS = 30  # fewer unseen rows than this (or holdout_rows) judge nothing


class Training(LoopMoves):
    def _train(self, loop: Loop, state: LoopState, deployment: Deployment) -> None:
        attempts = int(state.detail.get("attempts", 0)) + 1
        if attempts > ATTEMPTS:  # the process died while training, again and again
            self._abandon(loop, state, f"training was interrupted {ATTEMPTS} times")
            return
        state.detail["attempts"] = attempts  # saved first: a crash mid-pipeline is counted
        self.store.save(state, actor=ACTOR)
        try:
            holdout, holdout_name, label, since = self._holdout(loop, deployment)
        except Exception as exc:  # not the pipeline's fault: it did not run
            state.detail["error"] = why = reason_of(exc)
            self._move(
                state,
                "failed",
                f"the gate has no holdout to judge on: {why}; the pipeline did not run, and "
                "the champion serves on",
            )
            self._alert(loop, "gate failed", "warning", state)
            return
        try:
            version = self._run_pipeline(loop, state, deployment, since)
        except Exception as exc:
            self._pipeline_failed(loop, state, "the pipeline", exc)
            return
        state.candidate = version.version
        state.detail["champion"] = deployment.stable
        try:
            verdict = self._gate(loop, version, deployment, holdout, holdout_name, label)
        except Exception as exc:
            why = reason_of(exc)
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
        passed = f"version {version.version} passed the gate: {verdict.summary()}"
        if loop.gate is not None and loop.gate.refit:  # still training: a crash refits again
            self._refit(loop, state, deployment, version, passed)
            return
        self._move(state, "gated", passed)

    def _pipeline_failed(self, loop: Loop, state: LoopState, what: str, exc: Exception) -> None:
        why = reason_of(exc)
        state.detail["error"] = why
        self._move(state, "failed", f"{what} failed: {why}; the champion serves on")
        self._alert(loop, "pipeline failed", "warning", state)

    def _holdout(
        self, loop: Loop, deployment: Deployment, candidate: int | None = None
    ) -> tuple[Any, str, str, float | None]:
        """The gate's rows, their name, their label column, and (for traffic) the time from
        which the pipeline may not learn. Traffic rows are the newest labelled rows the
        champion (and ``candidate``, when it is made already) did not learn from, so neither
        model is judged on its own lessons."""
        gate = loop.gate
        if gate is None:
            return None, "none", "label", None
        if gate.holdout is not None:  # NAME@VERSION, as the gate checked when it loaded
            frame = self.session.datasets.load(gate.holdout)
            label = gate.label or self.session.settings.monitoring.labels.get(
                loop.deployment, "label"
            )
            return frame, gate.holdout, label, None
        labelled = labelled_traffic(self.session, loop.deployment)
        if not len(labelled):
            raise InvalidArgument(
                f"deployment {loop.deployment} has no labelled traffic for the gate to judge on",
                hint="log ground truth (shipway labels / sw.log_ground_truth) or name a "
                "holdout dataset in the gate",
            )
        judged = [v for v in (deployment.stable, candidate) if v is not None]
        seen = [t for t in (self._learnt_before(deployment.model, v) for v in judged) if t]
        unseen = labelled[labelled["timestamp"] >= max(seen)] if seen else labelled
        wanted = min(gate.holdout_rows, MIN_HOLDOUT_ROWS)
        if len(unseen) < wanted:
            raise InvalidArgument(
                f"only {len(unseen)} labelled rows of {loop.deployment} are newer than what "
                f"version {'/'.join(map(str, judged))} learnt from: the gate needs {wanted} to "
                "judge on rows no model it compares has seen",
                hint="wait for more labels (a labels:N trigger) before the loop retrains",
            )
        cutoff = float(unseen["timestamp"].iloc[-min(gate.holdout_rows, len(unseen))])
        rows = labelled[labelled["timestamp"] >= cutoff].reset_index(drop=True)
        if candidate is None and len(rows) >= len(labelled):  # training comes next
            raise InvalidArgument(
                f"deployment {loop.deployment} has {len(labelled)} labelled rows: the gate holds "
                f"out {len(rows)}, which leaves none to learn from",
                hint="wait for more labels (a labels:N trigger), or lower holdout_rows",
            )
        name = f"traffic of {loop.deployment}: the newest {len(rows)} labelled rows"
        if len(rows) < gate.holdout_rows:
            name += ", all that the models it compares did not learn from"
        return rows, name, "label", cutoff

    def _learnt_before(self, model: str, number: int) -> float | None:
        """The time before which a version's loop run learnt from traffic (None: it was not
        made by a loop, so what it saw is not known)."""
        try:
            version = self.session.registry.get_version(model, number)
            tags = self.session.tracking.get_run(version.run_id).tags if version.run_id else {}
        except ShipwayError:
            return None
        value = tags.get(LEARNT_BEFORE_TAG)
        return float(value) if value else None

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
            self._heartbeat(),
        ):
            run = load(loop.pipeline).run(tracking=tracking, cache=False, **loop.params)
        trigger = state.detail.get("trigger", "")
        tags = {
            TRIGGER_TAG: trigger,
            "shipway.loop": loop.deployment,
            LEARNT_BEFORE_TAG: repr(learnt_before),
        }
        tracking.set_tags(run.run_id, tags)
        # what the version is monitored against, recorded before it is registered
        reference = record_reference(self.acting, run, deployment, learnt)
        state.detail["reference"] = str(reference) if reference else "none: not monitored"
        version = self._version_of(loop, run, deployment, trigger)
        tag_registered(self.acting, version, reference)
        if version.run_id and version.run_id != run.run_id:
            tracking.set_tags(version.run_id, {**tags, "shipway.loop.pipeline_run": run.run_id})
        return version

    def _version_of(
        self, loop: Loop, run: Any, deployment: Deployment, trigger: str
    ) -> ModelVersion:
        tracking = self.acting.tracking
        returned = run.returned
        if threading.current_thread() in self.abandoned:  # ran over its time: register nothing
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
            tracking, run.run_id, returned, "model", signature=signature, input_example=example
        )
        return self.acting.registry.register(
            run.run_id, deployment.model, description=f"trained by the loop: {trigger}"
        )

    @contextmanager
    def _heartbeat(self) -> Iterator[None]:
        """Renew the lease while a pipeline runs, so a long training does not let another
        process take it and act on the same loop meanwhile."""

        leases = LeaseStore(self.session.stores.db)
        if leases.holder(LEASE) != self.holder:
            yield  # a round run by hand (tests, sw API): no lease to keep
            return
        seconds = max(2 * self.interval, 600.0)
        done = threading.Event()
        owner = threading.current_thread()

        def beat() -> None:
            # stopped, or the training ran over its time: the lease is not kept for it
            while not done.wait(30.0) and not self._stop.is_set() and owner not in self.abandoned:
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

        summary = f"{'passed' if verdict.passed else 'failed'}: {verdict.summary()}"
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
            version = self._run_pipeline(loop, state, deployment, None)
        except Exception as exc:
            self._pipeline_failed(loop, state, "the refit", exc)
            return
        verdict = Verdict(**state.detail["verdict"])
        verdict.holdout = f"{verdict.holdout} (refit of version {passed.version}, which passed)"
        state.candidate = version.version
        state.detail["refit_of"] = passed.version
        self._record_verdict(version, verdict, state)
        self._move(
            state, "gated", f"{why_passed}; version {version.version} is its refit on every row"
        )

    def _regate(self, loop: Loop, state: LoopState, deployment: Deployment) -> bool:
        """The champion changed since the gate judged (a deploy by hand while the candidate
        waited): the candidate is judged again, against the champion it would replace. True
        when it passed; it waits (False, still ready) while too few rows are new to both."""
        version = self.session.registry.get_version(self._model(loop), state.candidate or 0)
        try:
            holdout, holdout_name, label, _ = self._holdout(loop, deployment, state.candidate)
        except InvalidArgument as exc:  # a refit learnt from everything up to its making
            message = (
                f"the champion is now version {deployment.stable}: version {version.version} "
                f"is judged against it once it can be: {exc.message}"
            )
            if state.detail.get("message") != message:
                state.detail["message"] = message
                self.store.save(state, actor=ACTOR)
            return False
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
            return False
        state.detail["message"] = f"judged again against version {deployment.stable}: passed"
        return True
