"""Serving functions of the fluent API: ``sw.deploy``, ``sw.get_deployment``,
``sw.log_ground_truth`` and ``sw.read_predictions``."""

from __future__ import annotations

from typing import Any

from shipway.registry.service import Registry
from shipway.serving.deployments import Deployments
from shipway.tracking.context import current
from shipway.types import Deployment


def _deployments() -> Deployments:
    ctx = current()
    ctx.stores  # noqa: B018 - says clearly when the tracking URI is a server
    return Deployments(Registry(ctx.tracking))


def deploy(
    name: str,
    *,
    model: str,
    version: int | str,
    strategy: str = "direct",
    weight: float | None = None,
    sticky_key: str | None = None,
    max_batch: int | None = None,
    max_wait_ms: float = 2.0,
    reason: str = "",
) -> Deployment:
    """Serve a model version in deployment ``name``: alone, or as a canary, shadow, A/B
    variant or blue-green candidate next to the stable version (audited).

    ``max_batch`` turns micro-batching on (rows per model call) or off (0).
    """
    deployments = _deployments()
    result = deployments.deploy(
        name,
        model=model,
        version=version,
        strategy=strategy,
        weight=weight,
        sticky_key=sticky_key,
        reason=reason,
    )
    if max_batch is not None:
        result = deployments.set_batching(name, max_batch, max_wait_ms, reason)
    return result


def get_deployment(name: str) -> Deployment:
    return _deployments().get(name)


def promote_deployment(name: str, reason: str = "") -> Deployment:
    """The candidate becomes the stable version and takes all the traffic (audited)."""
    return _deployments().promote(name, reason)


def rollback_deployment(name: str, reason: str = "") -> Deployment:
    """Drop the candidate, or return to the version before the last promotion (audited)."""
    return _deployments().rollback(name, reason)


def log_ground_truth(deployment: str, labels: Any) -> int:
    """Record true labels for earlier predictions, by ``request_id`` (and ``row`` for a
    multi-row request) or by a ``key`` column.

    ``labels`` is a DataFrame (or records) with ``label`` and ``request_id`` or ``key``.
    Returns the number of rows written.
    """
    import json
    import time

    import pandas as pd

    from shipway.errors import InvalidArgument
    from shipway.serving.prediction_log import GROUND_TRUTH, PredictionLog

    frame = labels if isinstance(labels, pd.DataFrame) else pd.DataFrame(labels)
    if "label" not in frame.columns or not ({"request_id", "key"} & set(frame.columns)):
        raise InvalidArgument(
            "ground truth needs a 'label' column and a 'request_id' or 'key' column"
        )
    _deployments().get(deployment)
    out = pd.DataFrame(
        {
            "request_id": frame["request_id"].astype(str) if "request_id" in frame else None,
            "row": frame["row"].astype("Int64")
            if "row" in frame
            else None,  # a row of a multi-row request
            "key": frame["key"].map(lambda k: json.dumps(k, sort_keys=True))
            if "key" in frame
            else None,
            "label": frame["label"],
            "timestamp": time.time(),
        }
    )
    log = PredictionLog(current().stores.artifacts)
    log.append(GROUND_TRUTH, deployment, out)
    log.close()
    return len(out)


def read_predictions(deployment: str, kind: str = "predictions") -> Any:
    """Every logged prediction (or, with ``kind="ground_truth"``, label) of a deployment."""
    from shipway.serving.prediction_log import read_log

    return read_log(current().stores.artifacts, kind, deployment)


def traffic_profile(
    deployment: str,
    *,
    version: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Any:
    """The merged profile of a deployment's live inputs and predictions (one version, a time
    range), built by the model servers beside the prediction log; None when there is none."""
    from shipway.serving.profiles import read_profile

    return read_profile(
        current().stores.artifacts, deployment, version=version, start=start, end=end
    )
