"""Monitoring in the fluent API: ``sw.monitor(deployment)`` judges windows (and, with alert
rules, sets off their sinks and actions); ``sw.alerts()`` lists the alerts."""

from __future__ import annotations

import numbers
from typing import Any

from shipway.session import current


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
) -> Any:
    """A deployment's logged inputs joined with their late labels, oldest first: the rows
    that got a label, with the model's input columns, a ``label`` column, and ``timestamp``,
    ``model_version`` and ``output`` beside them. ``last_rows`` keeps the newest N;
    ``start``/``end`` (epoch seconds) bound the traffic read. What a retraining pipeline
    learns from when production traffic is the source of truth. Inside a loop's run the
    rows the gate will judge the candidate on are left out."""
    from shipway.errors import InvalidArgument
    from shipway.monitoring.traffic import held_out_from, load_traffic, note_learnt

    if last_rows is not None and (
        isinstance(last_rows, bool) or not isinstance(last_rows, numbers.Integral) or last_rows < 1
    ):
        raise InvalidArgument(f"last_rows is a positive number of rows, not {last_rows!r}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise InvalidArgument(f"{name} is a time in epoch seconds, not {value!r}")
    session = current()
    session.deployments.get(deployment)  # an unknown deployment is an error, not empty
    traffic = load_traffic(None, deployment, start=start, end=end, reader=session.predictions.read)
    if traffic.empty:
        return traffic
    labelled = traffic[traffic["label"].notna()]
    exam = held_out_from(deployment)
    if exam is not None:  # inside a loop run: the gate's rows are not for learning
        labelled = labelled[labelled["timestamp"] < exam]
    if last_rows is not None:
        labelled = labelled.iloc[-last_rows:]
    inputs = [c for c in labelled.columns if c.startswith("input.")]
    kept = labelled[[*inputs, "label", "timestamp", "model_version", "output"]]
    found = kept.rename(columns=lambda c: c.removeprefix("input.")).reset_index(drop=True)
    note_learnt(deployment, found)  # inside a loop run: what the new version learns from
    return found
