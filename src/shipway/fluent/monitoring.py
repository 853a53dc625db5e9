"""Monitoring in the fluent API: ``sw.monitor(deployment)`` judges windows (and, with alert
rules, sets off their sinks and actions); ``sw.alerts()`` lists the alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway.session import current

if TYPE_CHECKING:
    import pandas as pd


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
    return current().monitoring.monitor(
        deployment,
        window=window,
        label=label,
        rules=rules,
        replay=replay,
        reference=reference,
        sensitive=sensitive,
        start=start,
        end=end,
        source=source,
    )


def alerts(*, deployment: str | None = None, include_resolved: bool = False) -> list[Any]:
    """Open (and acknowledged) alerts, newest first; all of them with ``include_resolved``."""
    return current().alerts.list(deployment=deployment, include_resolved=include_resolved)


def labelled_traffic(
    deployment: str,
    *,
    last_rows: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> pd.DataFrame:
    """A deployment's logged inputs joined with their late labels, oldest first: the rows
    that got a label, with the model's input columns, a ``label`` column, and ``timestamp``,
    ``model_version`` and ``output`` beside them. ``last_rows`` keeps the newest N;
    ``start``/``end`` (epoch seconds) bound the traffic read. What a retraining pipeline
    learns from when production traffic is the source of truth. Inside a loop's run the
    rows the gate will judge the candidate on are left out."""
    from shipway.monitoring.labelled import labelled_traffic as read

    return read(current(), deployment, last_rows=last_rows, start=start, end=end)
