"""The prediction log: every prediction, written off the request path as Parquet segments.

Segments live in the artifact store under
``predictions/deployment=NAME/date=YYYY-MM-DD/hour=HH/<time>-<id>.parquet`` (Hive-style
partitions, so DuckDB's ``read_parquet('…/**/*.parquet', hive_partitioning=true)`` and
pyarrow datasets read them as one table). Ground truth arrives later under
``ground_truth/…`` in the same layout.

A request only appends its rows to a list; a background thread writes once a second. When
more than ``max_pending`` rows wait, new rows are dropped and counted, so memory stays bounded
and the server keeps answering. A clean shutdown writes everything; a kill loses at most the
last second.

What the log cannot hold, requests refused or failed and rows dropped, is counted per
deployment and written at most once a minute as a small JSON record under ``health/…``
(same partitions), so monitoring sees error rates and losses beside the traffic.
"""

from __future__ import annotations

import io
import json
import logging
import math
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipway.store.artifacts import ArtifactStore, BytesSink

log = logging.getLogger(__name__)

PREDICTIONS = "predictions"
GROUND_TRUTH = "ground_truth"
HEALTH = "health"  # refused or failed requests and dropped rows, per deployment and minute


@dataclass
class _Pending:
    rows: list[Any] = field(default_factory=list)  # DataFrames, or Logged predictions
    count: int = 0
    declared: dict[str, Any] = field(default_factory=dict)  # column -> Arrow type


@dataclass(frozen=True)
class _Segment:
    """Rows encoded as Parquet, waiting to be stored."""

    kind: str
    prefix: str
    deployment: str
    frame: Any  # the rows the bytes hold (the profiles are built from them)
    data: bytes


@dataclass(frozen=True)
class Logged:
    """One answered request, as the request path hands it over: no copying, no pandas work."""

    request_id: str
    timestamp: float
    versions: list[int]  # per row
    latency_ms: float
    inputs: Any  # the validated input frame
    outputs: list[Any]
    shadow_version: int | None = None
    shadow_outputs: list[Any] | None = None
    scorer: Any = None  # frame -> confidence per row (a classifier's); run in bulk by the writer
    declared: dict[str, Any] | None = None  # ``input.NAME`` -> Arrow type, from the signature
    caller: str | None = None  # the user whose token asked (labels are bound to it)


def cell(value: Any) -> Any:
    """A value Parquet can hold in one column: numbers and text as they are, others as JSON."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json.dumps(value, default=str)


def _scores(logged: list[Logged], sizes: list[int]) -> Any:
    """Each row's classifier confidence: one ``predict_proba`` call per model, not per request."""
    import numpy as np
    import pandas as pd

    scores = np.full(sum(sizes), np.nan)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    by_scorer: dict[int, list[int]] = {}
    for index, item in enumerate(logged):
        if item.scorer is not None:
            by_scorer.setdefault(id(item.scorer), []).append(index)
    for indices in by_scorer.values():
        scorer = logged[indices[0]].scorer
        try:
            found = scorer(pd.concat([logged[i].inputs for i in indices], ignore_index=True))
        except Exception:  # a score is a nicety; the prediction is logged regardless
            continue
        if found is None:
            continue
        offset = 0
        for i in indices:
            scores[starts[i] : starts[i] + sizes[i]] = found[offset : offset + sizes[i]]
            offset += sizes[i]
    return scores


def predictions_table(logged: list[Logged]) -> Any:
    """Many requests' rows as one table, built in bulk off the request path."""
    import numpy as np
    import pandas as pd

    sizes = [len(item.inputs) for item in logged]
    inputs = pd.concat([item.inputs for item in logged], ignore_index=True).add_prefix("input.")
    table = pd.DataFrame(
        {
            "request_id": np.repeat([item.request_id for item in logged], sizes),
            "row": np.concatenate([np.arange(n) for n in sizes]),
            "timestamp": np.repeat([item.timestamp for item in logged], sizes),
            "model_version": [v for item in logged for v in item.versions],
            "latency_ms": np.repeat([item.latency_ms for item in logged], sizes),
            "caller": np.repeat(np.array([item.caller for item in logged], dtype=object), sizes),
        }
    )
    table = pd.concat([table, inputs], axis=1)
    table["output"] = [cell(o) for item in logged for o in item.outputs]
    if any(item.scorer is not None for item in logged):
        table["score"] = _scores(logged, sizes)
    if any(item.shadow_version is not None for item in logged):
        table["shadow_version"] = np.repeat(
            [item.shadow_version if item.shadow_version is not None else -1 for item in logged],
            sizes,
        )
        table["shadow_output"] = [
            cell(o)
            for item, n in zip(logged, sizes, strict=True)
            for o in (item.shadow_outputs if item.shadow_outputs is not None else [None] * n)
        ]
    return table


def partition(kind: str, deployment: str, when: float) -> str:
    stamp = time.gmtime(when)
    return (
        f"{kind}/deployment={deployment}/date={time.strftime('%Y-%m-%d', stamp)}"
        f"/hour={stamp.tm_hour:02d}"
    )


ERROR_SECONDS = 5.0  # errors reach the store this soon: a canary is judged on them
MAX_ERROR_TIMES = 10_000  # times kept per version in one record; the count is always whole


class PredictionLog:
    def __init__(
        self,
        artifacts: BytesSink,
        *,
        flush_seconds: float = 1.0,
        max_pending: int = 200_000,
        profiles: Any = None,
        health_seconds: float = 60.0,
        error_seconds: float = ERROR_SECONDS,
    ) -> None:
        self.artifacts = artifacts
        self.profiles = profiles  # a ProfileWriter: profiles each predictions segment
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.dropped = 0  # rows answered but not logged: the writer could not keep up, or ...
        self.unencodable = 0  # ... a value did not fit its column (counted in ``dropped`` too)
        self.written = 0
        self.failed_writes = 0
        self.failed_profiles = 0
        self._pending: dict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._unwritten: list[_Segment] = []  # encoded segments a failed write left behind
        self.health_seconds = health_seconds
        self.error_seconds = error_seconds
        self._health: dict[str, dict[str, Any]] = {}  # deployment -> counts not yet written
        self._health_written = time.monotonic()
        self._count = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name="shipway-prediction-log", daemon=True
        )
        self._thread.start()

    def append(
        self,
        kind: str,
        deployment: str,
        frame: Any,
        when: float | None = None,
        declared: dict[str, Any] | None = None,
    ) -> bool:
        """Queue rows for writing (``declared``: column -> Arrow type); False (and counted)
        when the log is full."""
        rows = len(frame)
        with self._lock:
            if self._count + rows > self.max_pending:
                self._drop(deployment, rows)
                return False
            pending = self._pending[(kind, partition(kind, deployment, when or time.time()))]
            pending.rows.append(frame)
            pending.count += rows
            pending.declared.update(declared or {})
            self._count += rows
        return True

    def append_predictions(self, deployment: str, item: Logged) -> bool:
        """Queue one answered request; False (and counted) when the log is full."""
        rows = len(item.versions)
        with self._lock:
            if self._count + rows > self.max_pending:
                self._drop(deployment, rows)
                return False
            pending = self._pending[
                (PREDICTIONS, partition(PREDICTIONS, deployment, item.timestamp))
            ]
            pending.rows.append(item)
            pending.count += rows
            self._count += rows
        return True

    def _drop(self, deployment: str, rows: int, reason: str = "full") -> None:  # holding the lock
        """Count rows answered but not logged: the log was ``full``, or a value was
        ``unencodable`` in its column's type."""
        self.dropped += rows
        if reason == "unencodable":
            self.unencodable += rows
        counts = self._health.setdefault(deployment, {"errors": {}, "dropped_rows": 0})
        counts["dropped_rows"] += rows
        by_reason = counts.setdefault("dropped_by_reason", {})
        by_reason[reason] = by_reason.get(reason, 0) + rows

    def note_error(self, deployment: str, code: int | str, version: int | None = None) -> None:
        """Count a refused or failed request (by HTTP status, and by the model version when
        the request reached one) for the health record."""
        with self._lock:
            counts = self._health.setdefault(deployment, {"errors": {}, "dropped_rows": 0})
            counts["errors"][str(code)] = counts["errors"].get(str(code), 0) + 1
            if version is not None:
                by_version = counts.setdefault("errors_by_version", {})
                by_version[str(version)] = by_version.get(str(version), 0) + 1
                # when each failed, so a canary's step counts only the errors since it began
                times = counts.setdefault("error_times_by_version", {}).setdefault(str(version), [])
                if len(times) < MAX_ERROR_TIMES:
                    times.append(time.time())

    def note_unknown_labels(self, deployment: str, rows: int) -> None:
        """Count labels sent for requests no server answered: kept nowhere, counted here."""
        with self._lock:
            counts = self._health.setdefault(deployment, {"errors": {}, "dropped_rows": 0})
            counts["unknown_labels"] = counts.get("unknown_labels", 0) + rows

    def write_health(self, force: bool = False) -> None:
        """Write the counts of errors and dropped rows: at most once a minute, or within
        ``error_seconds`` of a model version's error, or now when forced."""
        waited = time.monotonic() - self._health_written
        with self._lock:
            failing = any(c.get("errors_by_version") for c in self._health.values())
        due = waited >= self.health_seconds or (failing and waited >= self.error_seconds)
        if not force and not due:
            return
        with self._lock:
            counts, self._health = self._health, {}
        self._health_written = time.monotonic()
        now = time.time()
        failed: Exception | None = None
        for deployment, found in counts.items():
            record = {"time": now, "seconds": self.health_seconds, **found}
            key = (
                f"{partition(HEALTH, deployment, now)}/{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
            )
            try:
                self.artifacts.put_bytes(json.dumps(record).encode(), key)
            except Exception as exc:  # counted again next time rather than lost
                failed = exc
                self._restore(deployment, found)
        if failed is not None:
            raise failed

    def _restore(self, deployment: str, found: dict[str, Any]) -> None:
        with self._lock:
            merged = self._health.setdefault(deployment, {"errors": {}, "dropped_rows": 0})
            merged["dropped_rows"] += found["dropped_rows"]
            if found.get("unknown_labels"):
                merged["unknown_labels"] = merged.get("unknown_labels", 0) + found["unknown_labels"]
            for group in ("errors", "errors_by_version", "dropped_by_reason"):
                into = merged.setdefault(group, {})
                for name, n in found.get(group, {}).items():
                    into[name] = into.get(name, 0) + n
            times = merged.setdefault("error_times_by_version", {})
            for name, found_times in found.get("error_times_by_version", {}).items():
                kept = times.setdefault(name, [])
                kept[:0] = found_times[: MAX_ERROR_TIMES - len(kept)]

    def _loop(self) -> None:
        # Rows are taken every half ``flush_seconds``, on a fixed beat from the last take, so
        # a row waits at most that half plus one write: a kill loses at most the last
        # ``flush_seconds`` however long a write takes (it was one wait *after* each write).
        beat = self.flush_seconds / 2
        next_take = time.monotonic() + beat
        while not self._closed:
            self._wake.wait(max(0.0, next_take - time.monotonic()))
            next_take = time.monotonic() + beat
            try:
                self._write_segments()
                self.write_health()
                if self.profiles is not None:
                    self.profiles.save()
            except Exception as exc:  # a failing store must never stop serving
                log.warning("could not write the prediction log (will retry): %s", exc)

    def flush(self) -> None:
        """Write everything now: pending rows, the hour's profiles and the health counts."""
        self._write_segments()
        self.write_health(force=True)
        if self.profiles is not None:
            self.profiles.save(force=True)

    def _write_segments(self) -> None:
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, defaultdict(_Pending)
                segments, self._unwritten = self._unwritten, []
                self._count = 0  # rows being written count toward no bound
            for (kind, prefix), pending in batch.items():
                segment = self._encode(kind, prefix, pending)
                if segment is not None:
                    segments.append(segment)
            stored: list[_Segment] = []
            try:
                for index, segment in enumerate(segments):
                    key = f"{segment.prefix}/{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
                    try:
                        self.artifacts.put_bytes(segment.data, key)
                    except Exception:
                        self.failed_writes += 1
                        self._keep_for_retry(segments[index:])
                        raise
                    self.written += len(segment.frame)
                    stored.append(segment)
            finally:  # once the rows are stored: profiling never delays one
                self._profile(stored)

    def _profile(self, segments: list[_Segment]) -> None:
        for segment in segments:
            if self.profiles is not None and segment.kind == PREDICTIONS:
                try:
                    self.profiles.add(segment.deployment, segment.prefix, segment.frame)
                except Exception as exc:  # the log is written; a profile can be rebuilt from it
                    self.failed_profiles += 1
                    log.warning("could not profile %s: %s", segment.prefix, exc)

    def _encode(self, kind: str, prefix: str, pending: _Pending) -> _Segment | None:
        """The segment's rows that fit their columns, as Parquet; the rest are counted as
        dropped (``unencodable``) and said in the server's log."""
        import pandas as pd
        import pyarrow.parquet as pq

        from shipway.serving.log_encoding import encode

        deployment = prefix.split("/", 2)[1].removeprefix("deployment=")
        try:
            if isinstance(pending.rows[0], Logged):
                frame = predictions_table(pending.rows)
                declared = {k: v for item in pending.rows for k, v in (item.declared or {}).items()}
            else:
                frame = pd.concat(pending.rows, ignore_index=True)
                declared = pending.declared
            encoded = encode(frame, declared)
        except Exception:  # a bug, not bad input: say so, and count the rows it cost
            log.exception("could not encode %s rows of %s; they are dropped", kind, deployment)
            with self._lock:
                self._drop(deployment, pending.count, "unencodable")
            return None
        if encoded.bad_rows:
            bad = len(encoded.bad_rows)
            log.warning("%d %s row(s) of %s left out: %s", bad, kind, deployment, encoded.problem)
            with self._lock:
                self._drop(deployment, len(encoded.bad_rows), "unencodable")
            frame = frame.drop(index=frame.index[encoded.bad_rows]).reset_index(drop=True)
        if encoded.table is None:
            return None
        buffer = io.BytesIO()
        pq.write_table(encoded.table, buffer, compression="zstd")
        return _Segment(kind, prefix, deployment, frame, buffer.getvalue())

    def _keep_for_retry(self, segments: list[_Segment]) -> None:
        """Keep what a failed write did not store, already encoded, for the next round; what
        does not fit in the bound is dropped (and counted)."""
        with self._lock:
            for segment in segments:
                rows = len(segment.frame)
                if self._count + rows <= self.max_pending:
                    self._unwritten.append(segment)
                    self._count += rows
                else:
                    self._drop(segment.deployment, rows)

    @property
    def pending(self) -> int:
        return self._count

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            with self._lock:  # the store is still failing: say what that cost
                for segment in self._unwritten:
                    self._drop(segment.deployment, len(segment.frame), "store_failed")
                self._unwritten = []
            log.exception("the prediction log could not be written at shutdown")
            raise


def hour_of(key: str) -> float | None:
    """The start (epoch seconds) of the hour partition a log key lies in."""
    from shipway.serving.log_dataset import _start

    parts = dict(p.split("=", 1) for p in key.split("/") if "=" in p)
    if "date" not in parts or "hour" not in parts:
        return None
    return _start(parts["date"], parts["hour"])


def log_keys(
    artifacts: ArtifactStore,
    kind: str,
    deployment: str,
    suffix: str,
    *,
    start: float | None = None,
    end: float | None = None,
) -> list[str]:
    """The keys of one deployment's log, listing only the hour partitions that meet
    [start, end) (see :func:`shipway.serving.log_dataset.segment_paths`)."""
    from shipway.serving.log_dataset import segment_paths

    if artifacts.has_local_folder(f"{kind}/deployment={deployment}") is False:
        return []  # nothing logged: asked of every idle deployment each round, so no pyarrow
    fs, base = artifacts.arrow_filesystem()
    root = f"{base}/{kind}/deployment={deployment}"
    paths = segment_paths(fs, root, start=start, end=end, suffix=suffix)
    return [path[len(base) + 1 :] for path in paths]


def read_log(
    artifacts: ArtifactStore,
    kind: str,
    deployment: str,
    *,
    columns: list[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    request_ids: list[str] | None = None,
) -> Any:
    """One deployment's logged rows in [start, end) as a DataFrame (empty when nothing was
    logged), through ``pyarrow.dataset`` (see :mod:`shipway.serving.log_dataset`): only the
    hour partitions that meet the range are listed, only ``columns`` are read (where a
    segment has them), and the time range (and ``request_ids``) is filtered by the scan."""
    from shipway.serving.log_dataset import read_dataset

    fs, base = artifacts.arrow_filesystem()
    root = f"{base}/{kind}/deployment={deployment}"
    damaged: list[tuple[str, int | None]] = []
    frame = read_dataset(
        fs, root, columns=columns, start=start, end=end, damaged=damaged, request_ids=request_ids
    )
    for path, rows in damaged:
        quarantine(artifacts, deployment, path[len(base) + 1 :], rows)
    return frame


QUARANTINE = "quarantine"  # damaged segments, moved aside under their own key


def quarantine(artifacts: ArtifactStore, deployment: str, key: str, rows: int | None) -> None:
    """Move a segment no reader can read aside (``quarantine/KEY``), and count it, with its
    rows where its footer told them, in a health record of its hour: the window it belonged
    to shows it, and monitoring raises an alert for it."""
    try:
        artifacts.put_bytes(artifacts.read_bytes(key), f"{QUARANTINE}/{key}")
        artifacts.delete(key)
    except Exception as exc:  # another reader moved it first, or the store is failing
        log.warning("could not quarantine the damaged log segment %s: %s", key, exc)
        return
    log.warning("the log segment %s cannot be read: moved to %s/%s", key, QUARANTINE, key)
    when = _written_at(key)
    record = {
        "time": when,
        "seconds": 0,
        "errors": {},
        "dropped_rows": 0,
        "unreadable_segments": 1,
        "unreadable_rows": rows or 0,
        "unreadable": [key],
    }
    name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.json"
    artifacts.put_bytes(
        json.dumps(record).encode(), f"{partition(HEALTH, deployment, when)}/{name}"
    )


def _written_at(key: str) -> float:
    """When a segment was written: its name starts with the time in nanoseconds; else the
    start of its hour partition."""
    hour = hour_of(key)
    stamp = key.rsplit("/", 1)[-1].split("-", 1)[0]
    if stamp.isdigit() and hour is not None and hour <= int(stamp) / 1e9 < hour + 3600:
        return int(stamp) / 1e9
    return hour if hour is not None else time.time()


def read_health(
    artifacts: ArtifactStore,
    deployment: str,
    *,
    start: float | None = None,
    end: float | None = None,
) -> list[dict[str, Any]]:
    """The health records (errors by status, dropped rows) of one deployment, oldest first;
    one that is not a record is quarantined and counted, and the rest read on."""
    records = []
    for key in log_keys(artifacts, HEALTH, deployment, ".json", start=start, end=end):
        data = artifacts.read_bytes(key)  # a failing store raises: only a bad record is set aside
        try:
            record = json.loads(data)
        except (ValueError, RecursionError):
            record = None
        if health_problem(record) is not None:
            quarantine(artifacts, deployment, key, None)
            continue
        records.append(record)
    return sorted(records, key=lambda r: r["time"])


_COUNTS = ("dropped_rows", "unknown_labels", "seconds", "unreadable_segments", "unreadable_rows")
_COUNT_GROUPS = ("errors", "errors_by_version", "dropped_by_reason")


def health_problem(record: Any) -> str | None:
    """What makes ``record`` no health record a reader can sum, or None."""

    def count(value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 <= value <= 1e15
        )

    if not isinstance(record, dict) or not count(record.get("time")):
        return "a health record is an object with its 'time'"
    if record["time"] > time.time() + 86400:
        return "its 'time' is in the future"
    for name in _COUNTS:
        if name in record and not count(record[name]):
            return f"{name!r} is a count"
    for group in _COUNT_GROUPS:
        counts = record.get(group, {})
        if not isinstance(counts, dict) or not all(count(n) for n in counts.values()):
            return f"{group!r} maps names to counts"
    times = record.get("error_times_by_version", {})
    if not isinstance(times, dict) or not all(
        isinstance(t, list) and all(count(x) for x in t) for t in times.values()
    ):
        return "'error_times_by_version' maps versions to lists of times"
    if not isinstance(record.get("unreadable", []), list):
        return "'unreadable' is a list of keys"
    return None
