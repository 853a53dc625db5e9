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
import io
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
    request_ids: list[str] | None = None,
) -> Any:
    """The log's rows under ``root`` in [start, end) as a DataFrame (empty when none);
    with ``request_ids``, only those requests' rows.

    A segment that cannot be read (no footer, bad pages) is left out, and named in
    ``damaged`` with its row count where its footer tells: one bad file never makes the rest
    unreadable. A column logged as numbers in one segment and text in another is read as
    text."""
    import pandas as pd
    import pyarrow.dataset as ds

    damaged = [] if damaged is None else damaged
    paths = segment_paths(fs, root, start=start, end=end)
    schemas, superseded = _footers(fs, paths, damaged)
    kept = [p for p in paths if p in schemas and p not in superseded]
    if not kept:
        return pd.DataFrame()
    unified = _unified([schemas[p] for p in kept])
    wanted = None if columns is None else [c for c in columns if c in unified.names]
    bounds = []
    if "timestamp" in unified.names:
        if start is not None:
            bounds.append(ds.field("timestamp") >= start)
        if end is not None:
            bounds.append(ds.field("timestamp") < end)
    if request_ids is not None and "request_id" in unified.names:
        bounds.append(ds.field("request_id").isin(request_ids))
    condition = None
    for bound in bounds:
        condition = bound if condition is None else condition & bound
    try:
        table = ds.dataset(kept, schema=unified, format="parquet", filesystem=fs).to_table(
            columns=wanted, filter=condition
        )
    except unreadable_errors():  # a footer over pages that do not read: find them
        kept = [p for p in kept if _whole(fs, p, damaged)]
        if not kept:
            return pd.DataFrame()
        table = ds.dataset(kept, schema=unified, format="parquet", filesystem=fs).to_table(
            columns=wanted, filter=condition
        )
    return table.to_pandas()


def unreadable_errors() -> tuple[type[BaseException], ...]:
    """What reading a segment may raise when the file is damaged (pyarrow reports some
    parse errors as OSError, as it does a failing store: :func:`_damaged` tells them apart).
    pyarrow is imported only when a log is read."""
    import pyarrow as pa

    return (pa.ArrowInvalid, OSError)


def _damaged(fs: Any, path: str, error: BaseException) -> bool:
    """Whether ``path`` is damaged: its bytes, read again whole, do not parse. A store that
    fails to give the bytes raises (a good segment is never set aside for a network error);
    a file gone meanwhile (compaction replaced it) is not damaged."""
    import pyarrow.parquet as pq

    if isinstance(error, FileNotFoundError):
        return False
    with fs.open_input_stream(path) as stream:
        data = stream.read()
    try:
        pq.read_table(io.BytesIO(data))
    except unreadable_errors():
        return True
    raise error  # it reads now: the first failure was the store's, so say so


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
        except unreadable_errors() as exc:
            if _damaged(fs, path, exc):
                damaged.append((path, None))
            continue  # or replaced by a compaction since it was listed: its rows are there
        schemas[path] = schema
        replaced = (schema.metadata or {}).get(SUPERSEDES)
        if replaced:
            directory = path.rsplit("/", 1)[0]
            superseded |= {f"{directory}/{name}" for name in json.loads(replaced)}
    return schemas, superseded


def _unified(schemas: list[Any]) -> Any:
    """One schema for the segments. A column whose types will not merge (numbers in one
    segment, text in another, as a model without a signature may log) is read as text in
    all of them: every row stays readable, none is set aside."""
    import pyarrow as pa

    plain = [schema.remove_metadata() for schema in schemas]
    try:
        return pa.unify_schemas(plain, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    as_text: set[str] = set()
    unified = plain[0]
    for schema in plain[1:]:
        for field in schema:
            if field.name in unified.names and not _merges(unified.field(field.name), field):
                as_text.add(field.name)
        unified = pa.unify_schemas(
            [_texts(unified, as_text), _texts(schema, as_text)], promote_options="permissive"
        )
    return _texts(unified, as_text)


def _merges(one: Any, other: Any) -> bool:
    import pyarrow as pa

    try:
        pa.unify_schemas([pa.schema([one]), pa.schema([other])], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _texts(schema: Any, names: set[str]) -> Any:
    import pyarrow as pa

    return pa.schema(
        [pa.field(f.name, pa.string()) if f.name in names else f for f in schema],
        metadata=schema.metadata,
    )


def _whole(fs: Any, path: str, damaged: list[tuple[str, int | None]]) -> bool:
    import pyarrow.parquet as pq

    try:
        pq.read_table(path, filesystem=fs)
    except unreadable_errors() as exc:
        if _damaged(fs, path, exc):
            damaged.append((path, _rows(fs, path)))
        return False
    return True


def _rows(fs: Any, path: str) -> int | None:
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path, filesystem=fs).num_rows)
    except unreadable_errors():
        return None
