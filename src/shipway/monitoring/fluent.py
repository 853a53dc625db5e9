"""Monitoring in the fluent API: ``sw.monitor(deployment)``."""

from __future__ import annotations

from typing import Any

from shipway.monitoring.service import monitor_with_config
from shipway.tracking.context import current


def monitor(
    deployment: str,
    *,
    window: str | int = "day",
    label: str | None = None,
    rules: list[Any] | None = None,
    replay: bool = False,
    reference: Any = None,
    sensitive: tuple[str, ...] | list[str] | None = None,
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

    ``label``, ``sensitive`` and ``reference`` default to the deployment's entries in
    ``[monitoring]`` of shipway.toml (``labels``, ``sensitive``, ``reference``).

    ``source="auto"`` takes data drift and quality of hourly and daily windows from the
    servers' traffic profiles, reading only the log's narrow columns; ``"rows"`` reads every
    logged input.
    """
    from shipway.monitoring.alerting import alert_manager
    from shipway.monitoring.rules import load_rules
    from shipway.monitoring.scheduler import monitoring_config
    from shipway.registry.service import Registry
    from shipway.serving.deployments import Deployments

    ctx = current()
    deployments = Deployments(Registry(ctx.tracking))
    config = monitoring_config(ctx.settings.config_file)
    reports = monitor_with_config(
        ctx.tracking,
        deployment,
        window=window,
        label=label,
        sensitive=sensitive,
        reference=reference,
        start=start,
        end=end,
        source=source,
        deployments=deployments,
        config=config,
    )
    chosen = load_rules(ctx.settings.config_file) if rules is None else rules
    if chosen and reports:
        manager = alert_manager(ctx.tracking, deployments, chosen, config)
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
