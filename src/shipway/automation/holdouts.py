"""The rows a loop's gate judges on: a named dataset version, or the newest labelled traffic
that no model the gate compares has learnt from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from shipway.automation.loops import Loop
from shipway.errors import InvalidArgument, ShipwayError
from shipway.monitoring.labelled import labelled_traffic
from shipway.session import Session
from shipway.types import Deployment

if TYPE_CHECKING:
    import pandas as pd  # a holdout is a DataFrame; pandas is imported by whoever reads one

LEARNT_BEFORE_TAG = "shipway.loop.learnt_before"  # epoch seconds: traffic from then on unseen
MIN_HOLDOUT_ROWS = 30  # fewer unseen rows than this (or holdout_rows) judge nothing


@dataclass(frozen=True)
class Holdout:
    frame: pd.DataFrame | None  # None: the loop has no gate
    name: str  # what the verdict says it judged on
    label: str  # the label column
    # for traffic: the time from which the pipeline may not learn (None: a dataset)
    cutoff: float | None = None


class Holdouts:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of(self, loop: Loop, deployment: Deployment, candidate: int | None = None) -> Holdout:
        """The gate's rows. Traffic rows are the newest labelled rows the champion (and
        ``candidate``, when it is made already) did not learn from, so neither model is
        judged on its own lessons."""
        gate = loop.gate
        if gate is None:
            return Holdout(None, "none", "label")
        if gate.holdout is not None:  # NAME@VERSION, as the gate checked when it loaded
            frame = self.session.datasets.load(gate.holdout)
            label = gate.label or self.session.settings.monitoring.labels.get(
                loop.deployment, "label"
            )
            return Holdout(frame, gate.holdout, label)
        labelled = labelled_traffic(self.session, loop.deployment)
        if not len(labelled):
            raise InvalidArgument(
                f"deployment {loop.deployment} has no labelled traffic for the gate to judge on",
                hint="log ground truth (shipway labels / sw.log_ground_truth) or name a "
                "holdout dataset in the gate",
            )
        judged = [v for v in (deployment.stable, candidate) if v is not None]
        seen = [t for t in (self.learnt_before(deployment.model, v) for v in judged) if t]
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
        return Holdout(rows, name, "label", cutoff)

    def learnt_before(self, model: str, number: int) -> float | None:
        """The time before which a version's loop run learnt from traffic (None: it was not
        made by a loop, so what it saw is not known)."""
        try:
            version = self.session.registry.get_version(model, number)
            tags = self.session.tracking.get_run(version.run_id).tags if version.run_id else {}
        except ShipwayError:
            return None
        value = tags.get(LEARNT_BEFORE_TAG)
        return float(value) if value else None
