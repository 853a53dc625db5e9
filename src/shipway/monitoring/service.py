"""Monitor a deployment: its reference from the registry, its traffic from the log."""

from __future__ import annotations

from typing import Any

from shipway.errors import InvalidArgument
from shipway.monitoring.monitor import Monitor, Reference, WindowReport
from shipway.monitoring.traffic import load_traffic, windows

REFERENCE_ROWS = 50_000  # a larger training set is sampled: drift tests need no more


def reference_for(deployments: Any, deployment: str, *, version: int | None = None,
                  label: str | None = None, frame: Any = None) -> Reference:  # fmt: skip
    """The training data of the deployment's stable version (or ``version``), scored by the
    model; or ``frame``, a held-out set, which calibrates CBPE more honestly than training rows."""
    from shipway.data.versions import DatasetRegistry

    found = deployments.get(deployment)
    registry = deployments.registry
    chosen = registry.get_version(found.model, version or found.stable)
    ref = chosen.lineage.get("reference")
    if frame is None and not ref:
        raise InvalidArgument(
            f"{found.model} version {chosen.version} recorded no training data to monitor against",
            hint="log it in the training run with sw.log_dataset(name, train_df, role='train'), or pass reference=",
        )
    if frame is None:
        frame = DatasetRegistry(registry.tracking).load(f"{ref['dataset']}@{ref['version']}")
    if len(frame) > REFERENCE_ROWS:
        frame = frame.sample(REFERENCE_ROWS, random_state=0)
    if label is not None and label not in frame.columns:
        raise InvalidArgument(f"the training data has no column {label!r}",
                              hint=f"its columns: {', '.join(map(str, frame.columns))}")  # fmt: skip
    model = registry.load(chosen.uri)
    inputs = model.prepare(frame)
    scores = model.score_prepared(inputs)
    task = "classification" if scores is not None else "regression"
    return Reference(inputs, model.predict_prepared(inputs), scores,
                     frame[label].to_numpy() if label else None, task)  # fmt: skip


def run_monitors(deployments: Any, artifacts: Any, deployment: str, *, window: str | int = "day",
                 label: str | None = None, reference: Any = None,
                 sensitive: tuple[str, ...] = (), start: float | None = None,
                 end: float | None = None) -> list[WindowReport]:  # fmt: skip
    """Every window of a deployment's logged traffic, evaluated against its reference."""
    monitor = Monitor(sensitive=tuple(sensitive)).fit(
        reference_for(deployments, deployment, label=label, frame=reference)
    )
    traffic = load_traffic(artifacts, deployment)
    if not traffic.empty and (start is not None or end is not None):  # a time range: [start, end)
        keep = (traffic["timestamp"] >= (start if start is not None else -float("inf"))) & (
            traffic["timestamp"] < (end if end is not None else float("inf"))
        )
        traffic = traffic[keep].reset_index(drop=True)
    return [monitor.evaluate(name, rows) for name, rows in windows(traffic, window)]
