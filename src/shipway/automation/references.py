"""The data a loop-made version is monitored against.

Monitoring judges each window against the serving version's training data. A loop's pipeline
may log it (``sw.log_dataset(..., role="train")`` in any step); if it does not, the labelled
traffic it read (``sw.labelled_traffic``) is logged as a dataset version and recorded as
what it learnt from; failing both, the champion's reference is borrowed, and ``loops status``
says so. A version the loop made never leaves its deployment unmonitored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipway.data.backend import DatasetBackend
from shipway.errors import ShipwayError
from shipway.monitoring.service import REFERENCE_TAG
from shipway.pipelines.runner import PipelineRun
from shipway.registry.local import REFERENCE_LABEL_TAG
from shipway.session import Session
from shipway.types import Deployment, ModelVersion

# What labelled traffic carries besides the model's inputs and the label: not a reference.
BOOKKEEPING = (
    "request_id",
    "row",
    "timestamp",
    "model_version",
    "latency_ms",
    "output",
    "score",
    "label_time",
    "shadow_version",
    "shadow_output",
)


@dataclass(frozen=True)
class Reference:
    """The dataset version a new version is monitored against, and where it came from."""

    dataset: str
    version: int
    label: str | None
    source: str  # "logged by the pipeline", "the labelled traffic it learnt from", "the champion's"

    def __str__(self) -> str:
        return f"{self.dataset}@{self.version} ({self.source})"


def record_reference(
    session: Session, run: PipelineRun, deployment: Deployment, learnt: list[Any]
) -> Reference | None:
    """Make the pipeline run ``run`` record the data to monitor its model against, before
    the model is registered from it; None when there is none at all (no champion either)."""
    tracking = session.tracking
    for step in [run.run_id, *(s.run_id for s in run.steps.values())]:
        for given in tracking.get_run(step).inputs:
            source = given.source or ""
            if given.role == "train" and source.startswith("datasets:/"):
                if step != run.run_id:
                    tracking.log_inputs(run.run_id, [given])
                version = int(source.rstrip("/").rsplit("/", 1)[1])
                return Reference(given.name, version, None, "logged by the pipeline")
    if learnt:
        return _learnt(session, run, deployment, learnt)
    return _champions(session, run, deployment)


def _learnt(
    session: Session, run: PipelineRun, deployment: Deployment, learnt: list[Any]
) -> Reference:
    import pandas as pd

    frame = pd.concat(learnt, ignore_index=True)
    frame = frame.drop(columns=[c for c in BOOKKEEPING if c in frame.columns])
    frame = frame.drop_duplicates().reset_index(drop=True)
    name = f"{deployment.name.replace('/', '-')}-learnt"  # a dataset name holds no /
    version, _ = session.datasets.add(
        name, frame, description="the labelled traffic a loop's pipeline learnt from"
    )
    session.tracking.log_inputs(run.run_id, [DatasetBackend.as_input(version, "train")])
    session.tracking.set_tags(run.run_id, {REFERENCE_LABEL_TAG: "label"})
    return Reference(name, version.version, "label", "the labelled traffic it learnt from")


def _champions(session: Session, run: PipelineRun, deployment: Deployment) -> Reference | None:
    if deployment.stable is None:
        return None
    try:
        champion = session.registry.get_version(deployment.model, deployment.stable)
        ref = champion.lineage.get("reference")
        if not ref:
            return None
        version = session.datasets.get(f"{ref['dataset']}@{ref['version']}")
    except ShipwayError:
        return None
    session.tracking.log_inputs(run.run_id, [DatasetBackend.as_input(version, "reference")])
    if ref.get("label"):
        session.tracking.set_tags(run.run_id, {REFERENCE_LABEL_TAG: ref["label"]})
    return Reference(
        version.name,
        version.version,
        ref.get("label"),
        f"the champion's, version {champion.version}: the pipeline logged no training data",
    )


def tag_registered(session: Session, version: ModelVersion, reference: Reference | None) -> None:
    """A version the pipeline registered itself, with no reference in its lineage: its run
    names the reference, which monitoring reads when the lineage has none."""
    if reference is None or version.lineage.get("reference") or not version.run_id:
        return
    tags = {REFERENCE_TAG: f"{reference.dataset}@{reference.version}"}
    if reference.label:
        tags[REFERENCE_LABEL_TAG] = reference.label
    session.tracking.set_tags(version.run_id, tags)
