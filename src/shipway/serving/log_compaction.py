"""Keeping the prediction log small: closed hours compacted, old partitions expired.

A model server writes a segment a second while it has traffic, so an hour can hold thousands
of small files. Once an hour is closed (its end is ``GRACE_SECONDS`` past, so late writers
are done), its segments are merged into one file, whose Parquet metadata names the segments
it replaced; readers skip those (see :mod:`shipway.serving.log_dataset`), so no row is
read twice while they are deleted, and a compaction cut short loses nothing: it is redone.

``[serve] retention_days`` expires whole date partitions of the log (predictions, labels,
health records and traffic profiles) older than that.

Both run in the monitoring rounds of ``shipway server``, by the holder of the monitoring
lease only, so two processes never compact one hour at once.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipway.serving.log_dataset import (
    SUPERSEDES,
    _start,
    _value,
    hour_start,
    segment_paths,
)

if TYPE_CHECKING:
    from shipway.store.artifacts import ArtifactStore

log = logging.getLogger(__name__)

GRACE_SECONDS = 300.0  # an hour is closed this long after its end
LOOK_BACK_DAYS = 2.0
KINDS = ("predictions", "ground_truth")  # the Parquet logs; health and profiles are JSON
EXPIRING = (*KINDS, "health", "profiles")


@dataclass
class Upkeep:
    """What one pass did: hours compacted, segments merged, date partitions expired."""

    hours: int = 0
    segments: int = 0
    expired: int = 0


def compact(
    artifacts: ArtifactStore,
    deployment: str,
    *,
    now: float | None = None,
    days: float | None = LOOK_BACK_DAYS,
) -> Upkeep:
    """Merge every closed hour of the last ``days`` (None: all) of the deployment's logs
    that holds more than one segment. Rounds run every few minutes, so two days back finds
    every hour once it closes without listing a year of partitions each round."""
    done = Upkeep()
    if not any(
        artifacts.has_local_folder(f"{k}/deployment={deployment}") is not False for k in KINDS
    ):
        return done  # a local store with nothing logged: no pyarrow for an idle deployment
    fs, base = artifacts.arrow_filesystem()
    closed_before = (now if now is not None else time.time()) - GRACE_SECONDS
    since = None if days is None else closed_before - days * 86400
    for kind in KINDS:
        root = f"{base}/{kind}/deployment={deployment}"
        by_hour: dict[str, list[str]] = {}
        for path in segment_paths(fs, root, start=since, end=closed_before - 3600):
            by_hour.setdefault(path.rsplit("/", 1)[0], []).append(path)
        for directory, paths in by_hour.items():
            date, hour = (part.split("=", 1)[1] for part in directory.split("/")[-2:])
            if len(paths) > 1 and hour_start(date, hour) + 3600 <= closed_before:
                try:
                    merged = _compact_hour(fs, directory, paths)
                except _arrow_errors() as exc:  # a damaged segment: readers quarantine it
                    log.warning("not compacting %s (a segment does not read): %s", directory, exc)
                    continue
                done.hours += bool(merged)
                done.segments += merged
    return done


def _arrow_errors() -> tuple[type[BaseException], ...]:
    """What pyarrow raises for a file it cannot read (not a failing store: that propagates)."""
    import pyarrow as pa

    return (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def _compact_hour(fs: Any, directory: str, paths: list[str]) -> int:
    """Merge one hour's live segments into one file; returns how many it merged. Segments an
    earlier compaction replaced but could not delete are deleted now, and stay named in the
    new file until then, so no row is ever visible twice."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    superseded: set[str] = set()
    for path in paths:
        replaced = (pq.read_schema(path, filesystem=fs).metadata or {}).get(SUPERSEDES)
        superseded |= set(json.loads(replaced)) if replaced else set()
    live = [p for p in paths if p.rsplit("/", 1)[1] not in superseded]
    leftovers = [p for p in paths if p.rsplit("/", 1)[1] in superseded]
    if len(live) > 1:
        tables = [pq.read_table(p, filesystem=fs).replace_schema_metadata(None) for p in live]
        schema = pa.unify_schemas([t.schema for t in tables], promote_options="permissive")
        merged = pa.concat_tables(tables, promote_options="permissive").cast(schema)
        if "timestamp" in merged.column_names:
            merged = merged.sort_by("timestamp")
        names = sorted(superseded | {p.rsplit("/", 1)[1] for p in live})
        merged = merged.replace_schema_metadata({SUPERSEDES: json.dumps(names).encode()})
        target = f"{directory}/compacted-{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
        with fs.open_output_stream(target + ".tmp") as sink:  # readers see *.parquet only
            pq.write_table(merged, sink, compression="zstd")
        fs.move(target + ".tmp", target)
        leftovers += live
    elif not leftovers:
        return 0
    for path in leftovers:
        _delete(fs, path)
    return len(live) if len(live) > 1 else 0


def _delete(fs: Any, path: str) -> None:
    fs.delete_file(path)


def expire(
    artifacts: ArtifactStore, deployment: str, days: float, *, now: float | None = None
) -> int:
    """Delete the deployment's date partitions that ended more than ``days`` ago."""
    import pyarrow.fs as pafs

    fs, base = artifacts.arrow_filesystem()
    cutoff = (now if now is not None else time.time()) - days * 86400
    expired = 0
    for kind in EXPIRING:
        root = f"{base}/{kind}/deployment={deployment}"
        for day in fs.get_file_info(pafs.FileSelector(root, allow_not_found=True)):
            date = _value(day.base_name, "date=")
            midnight = None if date is None else _start(date, "00")
            if midnight is not None and midnight + 86400 <= cutoff:
                fs.delete_dir(day.path)
                expired += 1
    return expired


def upkeep(
    artifacts: ArtifactStore, deployments: list[str], retention_days: float | None
) -> Upkeep:
    """One pass over every deployment's log; a failing deployment is logged and skipped."""
    total = Upkeep()
    for name in deployments:
        try:
            done = compact(artifacts, name)
            total.hours += done.hours
            total.segments += done.segments
            if retention_days:
                total.expired += expire(artifacts, name, retention_days)
        except Exception as exc:  # upkeep is retried next round; serving never waits on it
            log.warning("could not keep the log of %s: %s", name, exc)
    return total
