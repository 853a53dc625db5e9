"""Monitoring in the fluent API: ``sw.monitor(deployment)``."""

from __future__ import annotations

from typing import Any

from shipway.monitoring.service import run_monitors
from shipway.tracking.context import current


def monitor(
    deployment: str,
    *,
    window: str | int = "day",
    label: str | None = None,
    rules: list[Any] | None = None,
    replay: bool = False,
    reference: Any = None,
    sensitive: tuple[str, ...] | list[str] = (),
    start: float | None = None,
    end: float | None = None,
    source: str = "auto",
) -> list[Any]:
    """Evaluate every window (``"hour"``, ``"day"`` or a number of rows) of a deployment's
    logged traffic against the data its model was trained on.

    Each report has rows, versions, label coverage, data drift per column, prediction drift,
    data quality, realised performance where labels arrived and, for classifiers whose
    training data has a ``label`` column, CBPE's estimate without labels.

    Alert ``rules`` (default: ``[[alerts]]`` in shipway.toml) judge the newest window, or every
    window in order with ``replay=True``; alerts are stored (``sw.alerts()``). ``reference`` (a
    DataFrame with the inputs and the label, or a logged dataset ``"NAME@VERSION"``) replaces
    the training data, e.g. a held-out set.
    ``sensitive`` names input columns whose groups are compared for fairness (``extra["fairness"]``);
    ``extra["health"]`` has the error rate (by status), dropped log rows, and requests, rate
    and latency per version. ``start``/``end`` (epoch seconds) bound the traffic read.

    ``source="auto"`` takes data drift and quality of hourly and daily windows from the
    servers' traffic profiles, reading only the log's narrow columns; ``"rows"`` reads every
    logged input.
    """
    from shipway.monitoring.alerting import AlertManager
    from shipway.monitoring.rules import load_rules
    from shipway.registry.service import Registry
    from shipway.serving.deployments import Deployments
    from shipway.store.alert_store import AlertStore

    ctx = current()
    deployments = Deployments(Registry(ctx.tracking))
    reports = run_monitors(deployments, ctx.stores.artifacts, deployment, window=window, label=label,
                           reference=reference, sensitive=tuple(sensitive), start=start, end=end,
                           source=source)  # fmt: skip
    chosen = load_rules(ctx.settings.config_file) if rules is None else rules
    if chosen and reports:
        from shipway.monitoring.scheduler import monitoring_config

        config = monitoring_config(ctx.settings.config_file)
        manager = AlertManager(AlertStore(ctx.stores.db), deployments, chosen, config.get("smtp"),
                               config.get("base_url"))  # fmt: skip
        try:
            manager.process(deployment, reports, replay=replay, window=window)
        finally:
            manager.close()
    return reports


def alerts(*, deployment: str | None = None, include_resolved: bool = False) -> list[Any]:
    """Open (and acknowledged) alerts, newest first; all of them with ``include_resolved``."""
    from shipway.store.alert_store import AlertStore

    return AlertStore(current().stores.db).list(
        include_resolved=include_resolved, deployment=deployment
    )
