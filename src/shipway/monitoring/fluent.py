"""Monitoring in the fluent API: ``sw.monitor(deployment)``."""

from __future__ import annotations

from typing import Any

from shipway.monitoring.service import run_monitors
from shipway.tracking.context import current


def monitor(deployment: str, *, window: str | int = "day", label: str | None = None) -> list[Any]:
    """Evaluate every window (``"hour"``, ``"day"`` or a number of rows) of a deployment's
    logged traffic against the data its model was trained on.

    Each report has rows, versions, label coverage, data drift per column, prediction drift,
    data quality, realised performance where labels arrived and, for classifiers whose
    training data has a ``label`` column, CBPE's estimate without labels.
    """
    from shipway.registry.service import Registry
    from shipway.serving.deployments import Deployments

    ctx = current()
    return run_monitors(Deployments(Registry(ctx.tracking)), ctx.stores.artifacts, deployment,
                        window=window, label=label)  # fmt: skip
