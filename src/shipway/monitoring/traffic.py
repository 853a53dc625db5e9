"""A deployment's logged traffic with its late labels joined: one row per prediction.

Labels join by request id, or by a user key (``{"customer_id": 7}``) matched against the
logged inputs; when a row gets several labels, the latest wins. A time range reads only the
log's hour partitions that meet it (labels: from its start on, since a label follows its
prediction), and ``inputs`` only the input columns a question needs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from shipway.serving.prediction_log import GROUND_TRUTH, PREDICTIONS, read_log

if TYPE_CHECKING:
    from shipway.store.artifacts import ArtifactStore

# While a loop's pipeline runs it learns only from rows logged before a time: the newest
# labelled rows are the gate's exam, and (for a refit) rows logged since it started may be the
# next loop's. deployment -> that time. A context variable, which the pipeline runner hands to
# the threads its steps run on.
_learn_before: ContextVar[dict[str, float] | None] = ContextVar(
    "shipway_learn_before", default=None
)


@contextmanager
def holding_out(deployment: str, since: float | None) -> Iterator[None]:
    """Leave the rows logged from ``since`` on out of :func:`shipway.labelled_traffic`
    meanwhile, in this context (None: leave nothing out)."""
    if since is None:
        yield
        return
    token = _learn_before.set({**(_learn_before.get() or {}), deployment: since})
    try:
        yield
    finally:
        _learn_before.reset(token)


def held_out_from(deployment: str) -> float | None:
    return (_learn_before.get() or {}).get(deployment)


# What a loop's pipeline read of its deployment's labelled traffic, so the version it makes
# is monitored against what it learnt from. deployment -> frames; shared by the step threads.
_learnt: ContextVar[dict[str, list[Any]] | None] = ContextVar("shipway_learnt", default=None)


@contextmanager
def recording_learnt(deployment: str) -> Iterator[list[Any]]:
    """Collect, in this context, the labelled traffic of ``deployment`` a pipeline reads."""
    frames: list[Any] = []
    token = _learnt.set({**(_learnt.get() or {}), deployment: frames})
    try:
        yield frames
    finally:
        _learnt.reset(token)


def note_learnt(deployment: str, frame: Any) -> None:
    frames = (_learnt.get() or {}).get(deployment)
    if frames is not None and len(frame):
        frames.append(frame)


BASE_COLUMNS = ["request_id", "row", "timestamp", "model_version", "latency_ms", "output", "score"]


def load_traffic(
    artifacts: ArtifactStore | None,
    deployment: str,
    *,
    start: float | None = None,
    end: float | None = None,
    inputs: list[str] | None = None,
    reader: Callable[..., Any] | None = None,
) -> Any:
    """Predictions (``timestamp``, ``model_version``, ``input.*``, ``output``, ``score``) in
    [start, end), with ``label`` and ``label_time`` where a label arrived (NaN elsewhere).
    ``inputs`` names the input columns to read (default: all of them). ``reader(kind,
    start=, end=, columns=)`` reads the log (default: from ``artifacts``; a session's
    ``predictions.read`` reads it through a server too)."""
    import numpy as np
    import pandas as pd

    read = _reader(artifacts, deployment, reader)
    truth = read(GROUND_TRUTH, start=start)
    keyed = truth.dropna(subset=["key"]) if "key" in truth else truth.iloc[:0]
    key_groups = _by_key_columns(keyed)
    columns = None
    if inputs is not None:  # the inputs asked for, and those that user keys match against
        wanted = [*inputs, *(c for cols, _ in key_groups for c in cols)]
        columns = [*BASE_COLUMNS, *(f"input.{c}" for c in dict.fromkeys(wanted))]
    predictions = read(PREDICTIONS, columns=columns, start=start, end=end)
    if predictions.empty:
        return predictions
    if start is not None or end is not None:  # partitions are whole hours: cut to the range
        keep = (predictions["timestamp"] >= (start if start is not None else -np.inf)) & (
            predictions["timestamp"] < (end if end is not None else np.inf)
        )
        predictions = predictions[keep]
    predictions = predictions.sort_values(["timestamp", "request_id", "row"], ignore_index=True)
    predictions["label"] = np.nan
    predictions["label_time"] = np.nan
    if truth.empty or predictions.empty:
        return predictions
    truth = truth.sort_values("timestamp")
    labels = predictions["label"].astype(object)
    times = predictions["label_time"].to_numpy(copy=True)
    with_id = truth.dropna(subset=["request_id"])
    has_row = "row" in with_id and with_id["row"].notna().any()
    by_row = with_id[with_id["row"].notna()] if has_row else with_id.iloc[:0]
    by_id = with_id[with_id["row"].isna()] if has_row else with_id
    by_id = by_id.drop_duplicates("request_id", keep="last")
    if len(by_row):  # one label per row of a multi-row request
        latest = by_row.drop_duplicates(["request_id", "row"], keep="last")
        latest = latest.astype({"row": "int64"})[["request_id", "row", "label", "timestamp"]]
        _apply(
            labels,
            times,
            predictions[["request_id", "row"]].astype({"row": "int64"}),
            latest,
            ["request_id", "row"],
        )
    if len(by_id):
        found = predictions["request_id"].map(
            dict(zip(by_id["request_id"], by_id["label"], strict=True))
        )
        when = predictions["request_id"].map(
            dict(zip(by_id["request_id"], by_id["timestamp"], strict=True))
        )
        hit = found.notna().to_numpy()
        labels[hit], times[hit] = found[hit], when[hit]
    for key_columns, group in key_groups:
        present = [f"input.{c}" for c in key_columns]
        if not all(c in predictions for c in present):
            continue
        latest = group.drop_duplicates("key", keep="last")
        keys = pd.DataFrame([json.loads(k) for k in latest["key"]], index=latest.index)[key_columns]
        keys = keys.assign(label=latest["label"], timestamp=latest["timestamp"])
        keys = keys.drop_duplicates(
            key_columns, keep="last"
        )  # {"id": 7} and {"id": 7.0} are one key
        rows = predictions[present].set_axis(key_columns, axis=1)
        _apply(labels, times, rows, keys, key_columns)
    predictions["label"] = labels.infer_objects()
    predictions["label_time"] = times
    return predictions


def _reader(
    artifacts: ArtifactStore | None, deployment: str, reader: Callable[..., Any] | None
) -> Callable[..., Any]:
    if reader is not None:
        return lambda kind, **options: reader(deployment, kind, **options)
    if artifacts is None:  # a caller's mistake, not a user's: one of the two is always given
        raise TypeError("traffic is read from the artifact store or through a reader")
    store = artifacts
    return lambda kind, **options: read_log(store, kind, deployment, **options)


def _apply(labels: Any, times: Any, rows: Any, found: Any, on: list[str]) -> None:
    """Set the label and its time of every row of ``rows`` that matches ``found`` on ``on``."""
    try:
        joined = rows.merge(found, how="left", on=on, validate="many_to_one")
    except (ValueError, TypeError):  # key values of another type than the logged column: no match
        return
    hit = joined["timestamp"].notna().to_numpy()
    labels[hit] = joined["label"].to_numpy()[hit]
    times[hit] = joined["timestamp"].to_numpy()[hit]


def _by_key_columns(keyed: Any) -> list[tuple[list[str], Any]]:
    if keyed.empty:
        return []
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, key in zip(keyed.index, keyed["key"], strict=True):
        groups.setdefault(tuple(sorted(json.loads(key))), []).append(index)
    return [(list(cols), keyed.loc[rows]) for cols, rows in groups.items()]


def check_window(every: Any) -> str | int:
    """``"hour"``, ``"day"``, or a number of rows (at least one), whatever the traffic."""
    from shipway.errors import InvalidArgument

    if isinstance(every, bool) or not isinstance(every, str | int):
        raise InvalidArgument(f"unknown window {every!r}", hint="use hour, day or a number of rows")
    if isinstance(every, int) or every.strip().lstrip("+-").isdigit():
        size = int(every)
        if size < 1:
            raise InvalidArgument(f"a window has at least one row, not {size}")
        return size
    if every not in ("hour", "day"):
        raise InvalidArgument(f"unknown window {every!r}", hint="use hour, day or a number of rows")
    return every


def windows(traffic: Any, every: str | int) -> list[tuple[str, Any]]:
    """``(label, rows)`` per window: ``"hour"``, ``"day"``, or a fixed number of rows."""
    import pandas as pd

    every = check_window(every)
    if traffic.empty:
        return []
    if isinstance(every, int):
        size = every
        return [
            (
                f"rows {start}-{min(start + size, len(traffic)) - 1}",
                traffic.iloc[start : start + size],
            )
            for start in range(0, len(traffic), size)
        ]
    stamps = pd.to_datetime(traffic["timestamp"], unit="s", utc=True).dt.floor(
        "h" if every == "hour" else "D"
    )
    fmt = "%Y-%m-%d %H:00" if every == "hour" else "%Y-%m-%d"
    return [(start.strftime(fmt), rows) for start, rows in traffic.groupby(stamps, sort=True)]
