"""What a controller round sees of the world, read once per round: the open alerts of
every deployment, the newest version of every dataset, the labels since a time."""

from __future__ import annotations

from collections.abc import Iterable

from shipway.automation.loops import Loop
from shipway.automation.records import ControlRecords
from shipway.serving.prediction_log import GROUND_TRUTH
from shipway.session import Session


def open_alerts(session: Session) -> dict[str, dict[str, list[int]]]:
    out: dict[str, dict[str, list[int]]] = {}
    for alert in session.alerts.list():
        out.setdefault(alert.deployment, {}).setdefault(alert.rule, []).append(alert.alert_id)
    return out


def dataset_versions(session: Session, loops: Iterable[Loop]) -> dict[str, int]:
    if not any(loop.has_trigger("dataset") for loop in loops):
        return {}

    return {name: newest for name, newest, _ in session.datasets.list()}


def labels_after(
    session: Session,
    deployment: str,
    until: float | None,
    *,
    records: ControlRecords | None = None,
) -> tuple[int, float | None]:
    """How many labels arrived after ``until`` (all of them for None), and when the newest
    did: counted from a time, not as a total, since the log's old days expire."""

    records = records or ControlRecords(session)
    if not records.has_log(GROUND_TRUTH, deployment, start=until):
        return 0, until  # no label since: no need to start a reader
    identity = ["request_id", "row", "key"]
    labels = session.predictions.read(
        deployment, GROUND_TRUTH, columns=["timestamp", *identity], start=until
    )
    if not len(labels):
        return 0, until
    later = labels if until is None else labels[labels["timestamp"] > until]
    newest = float(later["timestamp"].max()) if len(later) else until
    # rows labelled, not labels sent: a row labelled again counts once
    present = [c for c in identity if c in later.columns]
    distinct = later[present].astype(object).drop_duplicates() if present else later
    return int(len(distinct)), newest
