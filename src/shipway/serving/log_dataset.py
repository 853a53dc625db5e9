"""Reading the prediction log as one ``pyarrow.dataset``: partitions pruned, columns and the
time range pushed down.

The log is ``KIND/deployment=NAME/date=YYYY-MM-DD/hour=HH/*.parquet``. Only the date and
hour directories that meet the time range are listed (a year of traffic is not listed to read
one hour), only the columns asked for are read, and the ``timestamp`` filter is applied by
the scan. Segments can differ in their columns (a shadow started, a model added an input):
the dataset's schema is the union of theirs, and a column a segment lacks reads as null.

A compacted hour (see :mod:`shipway.serving.log_compaction`) holds one file whose Parquet
metadata names the segments it replaced; those are skipped if they are still there, so a
reader never counts a row twice while a compaction deletes them.
"""

from __future__ import annotations

import calendar
import json
import time
from typing import Any

SUPERSEDES = b"shipway.supersedes"  # Parquet key-value metadata of a compacted file


def hour_start(date: str, hour: str) -> float:
    return float(calendar.timegm(time.strptime(f"{date} {hour}", "%Y-%m-%d %H")))


def _start(date: str, hour: str) -> float | None:
    """The hour's start, or None for a folder that is not a partition (left alone)."""
    try:
        return hour_start(date, hour)
    except ValueError:
        return None


def _value(name: str, prefix: str) -> str | None:
    return name.removeprefix(prefix) if name.startswith(prefix) else None


def segment_paths(
    fs: Any,
    root: str,
    *,
    start: float | None = None,
    end: float | None = None,
    suffix: str = ".parquet",
) -> list[str]:
    """The files (ending in ``suffix``) under ``root`` in the hour partitions that meet
    [start, end), at any depth inside an hour (profiles keep a folder per version)."""
    import pyarrow.fs as pafs

    def children(path: str) -> list[Any]:
        found = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        return [info for info in found if info.type == pafs.FileType.Directory]

    files = []
    for day in children(root):
        date = _value(day.base_name, "date=")
        if date is None:
            continue
        midnight = _start(date, "00")
        if midnight is None:
            continue
        if (start is not None and midnight + 86400 <= start) or (
            end is not None and midnight >= end
        ):
            continue  # the whole day is outside the range: not even listed
        for hour_dir in children(day.path):
            hour = _value(hour_dir.base_name, "hour=")
            if hour is None:
                continue
            low = _start(date, hour)
            if low is None:
                continue
            if (start is not None and low + 3600 <= start) or (end is not None and low >= end):
                continue
            found = fs.get_file_info(pafs.FileSelector(hour_dir.path, recursive=True))
            files += [
                info.path
                for info in found
                if info.type == pafs.FileType.File and info.base_name.endswith(suffix)
            ]
    return sorted(files)


def read_dataset(
    fs: Any,
    root: str,
    *,
    columns: list[str] | None = None,
    start: float | None = None,
    end: float | None = None,
    damaged: list[tuple[str, int | None]] | None = None,
) -> Any:
    """The log's rows under ``root`` in [start, end) as a DataFrame (empty when none).

    A segment that cannot be read (no footer, bad pages) or merged (a column of another
    type) is left out, and named in ``damaged`` with its row count where its footer tells:
    one bad file never makes the rest unreadable."""
    import pandas as pd
    import pyarrow.dataset as ds

    damaged = [] if damaged is None else damaged
    paths = segment_paths(fs, root, start=start, end=end)
    schemas, superseded = _footers(fs, paths, damaged)
    kept = [p for p in paths if p in schemas and p not in superseded]
    if not kept:
        return pd.DataFrame()
    unified, kept = _unified(kept, schemas, fs, damaged)
    wanted = None if columns is None else [c for c in columns if c in unified.names]
    bounds = []
    if "timestamp" in unified.names:
        if start is not None:
            bounds.append(ds.field("timestamp") >= start)
        if end is not None:
            bounds.append(ds.field("timestamp") < end)
    condition = bounds[0] & bounds[1] if len(bounds) == 2 else (bounds[0] if bounds else None)
    try:
        table = ds.dataset(kept, schema=unified, format="parquet", filesystem=fs).to_table(
            columns=wanted, filter=condition
        )
    except (
        unreadable_errors()
    ):  # a footer that reads over pages that do not: find them, read the rest
        kept = [p for p in kept if _whole(fs, p, damaged)]
        if not kept:
            return pd.DataFrame()
        table = ds.dataset(kept, schema=unified, format="parquet", filesystem=fs).to_table(
            columns=wanted, filter=condition
        )
    return table.to_pandas()


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged segment raises (pyarrow is imported only when a log is read)."""
    import pyarrow as pa

    return (pa.ArrowException, OSError, ValueError)


def _footers(
    fs: Any, paths: list[str], damaged: list[tuple[str, int | None]]
) -> tuple[dict[str, Any], set[str]]:
    """Each readable segment's schema (footers only), and the segments compaction replaced."""
    import pyarrow.parquet as pq

    schemas: dict[str, Any] = {}
    superseded: set[str] = set()
    for path in paths:
        try:
            schema = pq.read_schema(path, filesystem=fs)
        except unreadable_errors():
            damaged.append((path, None))
            continue
        schemas[path] = schema
        replaced = (schema.metadata or {}).get(SUPERSEDES)
        if replaced:
            directory = path.rsplit("/", 1)[0]
            superseded |= {f"{directory}/{name}" for name in json.loads(replaced)}
    return schemas, superseded


def _unified(
    kept: list[str], schemas: dict[str, Any], fs: Any, damaged: list[tuple[str, int | None]]
) -> tuple[Any, list[str]]:
    """One schema for the segments: where one will not merge (a column of another type than
    the segments before it), that segment is left out."""
    import pyarrow as pa

    plain = [schemas[p].remove_metadata() for p in kept]
    try:
        return pa.unify_schemas(plain, promote_options="permissive"), kept
    except unreadable_errors():
        pass
    unified, merged = plain[0], [kept[0]]
    for path, schema in zip(kept[1:], plain[1:], strict=True):
        try:
            unified = pa.unify_schemas([unified, schema], promote_options="permissive")
        except unreadable_errors():
            damaged.append((path, _rows(fs, path)))
            continue
        merged.append(path)
    return unified, merged


def _whole(fs: Any, path: str, damaged: list[tuple[str, int | None]]) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_table(path, filesystem=fs)
    except unreadable_errors():
        damaged.append((path, _rows(fs, path)))
        return False
    return True


def _rows(fs: Any, path: str) -> int | None:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path, filesystem=fs).num_rows)
    except unreadable_errors():
        return None
