"""A loop's candidate judged by its gate against the champion it would replace, and the
verdict kept with the version (a tag on its run, an event in the registry's audit log)."""

from __future__ import annotations

from shipway.automation.gate import Verdict, judge
from shipway.automation.holdouts import Holdout
from shipway.automation.journal import ACTOR
from shipway.automation.loops import Loop
from shipway.automation.records import ControlRecords
from shipway.session import Session
from shipway.store.registry_store import model_entity
from shipway.types import Deployment, ModelVersion

GATE_TAG = "shipway.gate"


class GateJudge:
    def __init__(self, session: Session, acting: Session, records: ControlRecords) -> None:
        self.session, self.acting, self.records = session, acting, records

    def judge(
        self, loop: Loop, version: ModelVersion, deployment: Deployment, holdout: Holdout
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
        return judge(
            loop.gate, candidate, champion, holdout.frame, holdout.label, holdout_name=holdout.name
        )

    def record(self, version: ModelVersion, verdict: Verdict, trigger: str | None) -> None:
        """The verdict with the version: a tag on its run, and the registry's audit log."""
        summary = f"{'passed' if verdict.passed else 'failed'}: {verdict.summary()}"
        if version.run_id:
            self.acting.tracking.set_tags(version.run_id, {GATE_TAG: summary[:4000]})
        details = {**verdict.to_dict(), "trigger": trigger or ""}
        self.records.audit(
            ACTOR,
            model_entity(version.name),
            "gate:passed" if verdict.passed else "gate:failed",
            None,
            str(version.version),
            summary,
            details,
        )
