"""Serving functions of the fluent API: ``sw.deploy``, ``sw.get_deployment``,
``sw.log_ground_truth``, ``sw.read_predictions`` and ``sw.traffic_profile``."""

from __future__ import annotations

from typing import Any

from shipway.session import current
from shipway.types import Deployment


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
    deployments = current().deployments
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
    """A deployment: its model, stable and candidate versions, strategy and revision."""
    return current().deployments.get(name)


def promote_deployment(name: str, reason: str = "") -> Deployment:
    """The candidate becomes the stable version and takes all the traffic (audited)."""
    return current().deployments.promote(name, reason)


def rollback_deployment(name: str, reason: str = "") -> Deployment:
    """Drop the candidate, or return to the version before the last promotion (audited)."""
    return current().deployments.rollback(name, reason)


def log_ground_truth(deployment: str, labels: Any) -> int:
    """Record true labels for earlier predictions, by ``request_id`` (and ``row`` for a
    multi-row request) or by a ``key`` column.

    ``labels`` is a DataFrame (or records) with ``label`` and ``request_id`` or ``key``.
    Returns the number of rows written.
    """
    return current().predictions.log_ground_truth(deployment, labels)


def read_predictions(
    deployment: str,
    kind: str = "predictions",
    *,
    start: float | None = None,
    end: float | None = None,
) -> Any:
    """Every logged prediction (or, with ``kind="ground_truth"``, label) of a deployment,
    in [start, end) when given (epoch seconds)."""
    return current().predictions.read(deployment, kind, start=start, end=end)


def traffic_profile(
    deployment: str,
    *,
    version: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> Any:
    """The merged profile of a deployment's live inputs and predictions (one version, a time
    range), built by the model servers beside the prediction log; None when there is none."""
    return current().predictions.traffic_profile(deployment, version=version, start=start, end=end)
