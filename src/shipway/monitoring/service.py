"""Monitor a deployment: its reference from the registry, its traffic from the log."""

from __future__ import annotations

import calendar
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shipway.errors import InvalidArgument
from shipway.monitoring import calibration as calibrate
from shipway.monitoring.monitor import Monitor, Reference, WindowReport
from shipway.monitoring.traffic import check_window, load_traffic, windows
from shipway.registry.local import REFERENCE_LABEL_TAG
from shipway.serving.prediction_log import read_health
from shipway.serving.profiles import window_profiles
from shipway.session import Session

if TYPE_CHECKING:
    from shipway.store.artifacts import ArtifactStore
    from shipway.types import ModelVersion

# On a version's run whose lineage names no reference (a loop's pipeline that registered its
# own version): the dataset NAME@VERSION to monitor it against.
REFERENCE_TAG = "shipway.monitoring.reference"
REFERENCE_ROWS = 50_000  # a larger training set is sampled: drift tests need no more


def reference_for(
    session: Session,
    deployment: str,
    *,
    version: int | None = None,
    label: str | None = None,
    frame: Any = None,
) -> Reference:
    """The training data of the deployment's stable version (or ``version``), scored by the
    model; or ``frame``, a held-out set. With a ``label``, the reference also carries the
    rows that calibrate estimated performance (see :mod:`shipway.monitoring.calibration`)."""
    found = session.deployments.get(deployment)
    registry = session.registry
    wanted = version or found.stable
    if wanted is None:
        raise InvalidArgument(f"deployment {deployment!r} serves no version yet")
    chosen = registry.get_version(found.model, wanted)
    ref = chosen.lineage.get("reference") or _tagged_reference(session, chosen)
    if frame is None and not ref:
        raise InvalidArgument(
            f"{found.model} version {chosen.version} recorded no training data to monitor against",
            hint="log it in the training run with sw.log_dataset(name, train_df, role='train'), or pass reference=",
        )
    given = frame is not None
    if frame is None:
        assert ref is not None
        frame = session.datasets.load(f"{ref['dataset']}@{ref['version']}")
    if len(frame) > REFERENCE_ROWS:
        frame = frame.sample(REFERENCE_ROWS, random_state=0)
    if label is not None and label not in frame.columns and ref and ref.get("label") in frame:
        frame = frame.rename(columns={ref["label"]: label})  # the reference names its label so
    if label is not None and label not in frame.columns:
        raise InvalidArgument(
            f"the training data has no column {label!r}",
            hint=f"its columns: {', '.join(map(str, frame.columns))}",
        )
    model = registry.load(chosen.uri)
    inputs = model.prepare(frame)
    scores = model.score_prepared(inputs)
    task = "classification" if scores is not None else "regression"
    predictions = model.predict_prepared(inputs)
    labels = frame[label].to_numpy() if label else None
    calibration = None
    if label is not None and not given:  # a reference the caller passed is held out already
        calibration = _calibration(session, chosen, model, label)
        if calibration is None:
            calibration = calibrate.out_of_fold(model, inputs, labels)
        if calibration is None:
            calibration = calibrate.training_rows(inputs, predictions, scores, labels)
    return Reference(inputs, predictions, scores, labels, task, calibration=calibration)


def _tagged_reference(session: Session, version: ModelVersion) -> dict[str, Any] | None:
    """The reference a loop named on the run of a version that registered itself."""
    if not version.run_id:
        return None
    tags = session.tracking.get_run(version.run_id).tags
    named = tags.get(REFERENCE_TAG, "")
    dataset, at, number = named.rpartition("@")
    if not at or not number.isdigit():
        return None
    return {"dataset": dataset, "version": int(number), "label": tags.get(REFERENCE_LABEL_TAG)}


def _calibration(
    session: Session, chosen: Any, model: Any, label: str
) -> calibrate.Calibration | None:
    """Held-out calibration rows: a validation or test dataset of the training run."""
    held = next(
        (
            d
            for d in chosen.lineage.get("datasets", [])
            if d.get("role") in calibrate.HELD_OUT_ROLES and d.get("version")
        ),
        None,
    )
    if held is None:
        return None
    name = f"{held['name']}@{held['version']}"
    frame = session.datasets.load(name)
    if label not in frame.columns:
        return None
    if len(frame) > REFERENCE_ROWS:
        frame = frame.sample(REFERENCE_ROWS, random_state=0)
    return calibrate.held_out(model, frame, label, f"the {held['role']} dataset {name}")


def run_monitors(
    session: Session,
    deployment: str,
    *,
    window: str | int = "day",
    label: str | None = None,
    reference: Any = None,
    sensitive: tuple[str, ...] = (),
    start: float | None = None,
    end: float | None = None,
    source: str = "auto",
    fitted: dict[Any, Monitor] | None = None,
) -> list[WindowReport]:
    """Every window of a deployment's logged traffic in [start, end), judged against its reference.

    ``fitted`` keeps monitors fitted on a version's training data between calls (the server's
    rounds), so the reference is loaded and scored once per version, not once per round.

    ``source="auto"`` takes data drift and quality of hourly and daily windows from the traffic
    profiles the servers wrote, reading only the log's narrow columns, and reads a window's
    full rows only where it has no usable profile; ``"rows"`` always reads full rows;
    ``"profiles"`` refuses windows without profiles.
    """
    if source not in ("auto", "profiles", "rows"):
        raise InvalidArgument(f"unknown source {source!r}", hint="use auto, profiles or rows")
    window = check_window(window)  # refused before anything is read, traffic or not
    if source == "profiles" and isinstance(window, int):
        raise InvalidArgument("profiles cover hours: use window hour or day with source profiles")
    monitor = _monitor(session, deployment, label, tuple(sensitive), reference, fitted)
    artifacts = session.stores.artifacts
    if source == "rows" or isinstance(window, int):
        return _from_rows(monitor, artifacts, deployment, window, start, end)
    profiles = window_profiles(
        artifacts, deployment, str(window), start=start, end=end, columns=monitor.columns_
    )
    traffic = load_traffic(artifacts, deployment, start=start, end=end, inputs=monitor.row_inputs())
    # after the traffic: a segment that read just quarantined is counted in its window now
    records = read_health(artifacts, deployment, start=start, end=end)
    reports = []
    for name, rows in windows(traffic, window):
        profile = profiles.get(name)
        if profile is None:
            if source == "profiles":
                raise InvalidArgument(
                    f"window {name} of {deployment!r} has no usable traffic profile",
                    hint="use source auto or rows",
                )
            low, high = _span(name, str(window))  # no profile: this window's full rows
            rows = load_traffic(
                artifacts, deployment, start=max(low, start or low), end=min(high, end or high)
            )
        health = _within(records, _span(name, str(window)))
        reports.append(monitor.evaluate(name, rows, profile=profile, health=health))
    return reports


def _from_rows(
    monitor: Monitor,
    artifacts: ArtifactStore,
    deployment: str,
    window: str | int,
    start: float | None,
    end: float | None,
) -> list[WindowReport]:
    """Every window judged from its full rows (windows of rows, ``source="rows"``)."""
    found = windows(load_traffic(artifacts, deployment, start=start, end=end), window)
    if not found:
        return []
    records = read_health(artifacts, deployment, start=start, end=end)
    if isinstance(window, int):  # a window of rows runs from its first row to the next one's
        firsts = [float(rows["timestamp"].iloc[0]) for _, rows in found]
        spans = list(zip(firsts, [*firsts[1:], float("inf")], strict=True))
    else:
        spans = [_span(name, str(window)) for name, _ in found]
    return [
        monitor.evaluate(name, rows, health=_within(records, span))
        for (name, rows), span in zip(found, spans, strict=True)
    ]


def _monitor(
    session: Session,
    deployment: str,
    label: str | None,
    sensitive: tuple[str, ...],
    reference: Any,
    fitted: dict[Any, Monitor] | None,
) -> Monitor:
    """A monitor fitted on the deployment's reference: its training data, a DataFrame, or a
    logged dataset named ``NAME@VERSION`` (a held-out set calibrates CBPE honestly)."""

    def fit() -> Monitor:
        frame = session.datasets.load(reference) if isinstance(reference, str) else reference
        return Monitor(sensitive=sensitive).fit(
            reference_for(session, deployment, label=label, frame=frame)
        )

    if fitted is None or (reference is not None and not isinstance(reference, str)):
        return fit()
    found = session.deployments.get(deployment)
    key = (deployment, found.model, found.stable, label, sensitive, reference)
    if key not in fitted:
        fitted[key] = fit()
    return fitted[key]


def _span(name: str, every: str) -> tuple[float, float]:

    fmt = "%Y-%m-%d %H:00" if every == "hour" else "%Y-%m-%d"
    low = float(calendar.timegm(time.strptime(name, fmt)))
    return low, low + (3600 if every == "hour" else 86400)


def _within(records: list[dict[str, Any]], span: tuple[float, float]) -> list[dict[str, Any]]:
    """The health records written in [low, high): each is counted in exactly one window."""
    low, high = span
    return [r for r in records if low <= r["time"] < high]


def parse_time(value: str | float | None) -> float | None:
    """Epoch seconds, or an ISO date or time (UTC unless it says otherwise)."""
    if value is None or value == "":
        return None

    try:
        number = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise InvalidArgument(
                f"cannot read the time {value!r}", hint="a time is a finite number of seconds"
            )
        return number
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidArgument(
            f"cannot read the time {value!r}",
            hint="use an ISO date such as 2026-11-30 or 2026-11-30T12:00, or epoch seconds",
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def monitor_with_config(
    session: Session,
    deployment: str,
    *,
    window: str | int = "day",
    label: str | None = None,
    sensitive: tuple[str, ...] | list[str] | None = None,
    reference: Any = None,
    start: float | None = None,
    end: float | None = None,
    source: str = "auto",
    fitted: dict[Any, Monitor] | None = None,
) -> list[WindowReport]:
    """:func:`run_monitors`, with what the caller leaves out (the label column, the sensitive
    columns, the reference) taken per deployment from ``[monitoring]`` in shipway.toml. The
    fluent API, the CLI, the server's API and the scheduled rounds all come through here."""
    config = session.settings.monitoring
    return run_monitors(
        session,
        deployment,
        window=window,
        label=label if label is not None else config.labels.get(deployment),
        sensitive=tuple(
            sensitive if sensitive is not None else config.sensitive.get(deployment, ())
        ),
        start=start,
        end=end,
        source=source,
        reference=reference if reference is not None else config.reference.get(deployment),
        fitted=fitted,
    )
