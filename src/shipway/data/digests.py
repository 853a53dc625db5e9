"""Content hashes of data: a DataFrame by its values, a file or folder by its bytes, and the
record of a run's input that names data by its hash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, NotFound
from shipway.store.artifacts import digest_file, new_hasher
from shipway.types import DatasetInput


def frame_digest(df: Any) -> str:
    """A hash of a DataFrame's column names, dtypes and values (row order matters)."""
    import pandas as pd

    hasher = new_hasher()
    hasher.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    if len(df):
        hasher.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return "blake3:" + str(hasher.hexdigest())


def path_digest(path: Path) -> str:
    if path.is_file():
        return digest_file(path)
    hasher = new_hasher()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        hasher.update(
            file.relative_to(path).as_posix().encode() + b"\0" + digest_file(file).encode() + b"\n"
        )
    return "blake3:" + str(hasher.hexdigest())


def describe(name: str, data: Any, role: str) -> DatasetInput:
    """The lineage record for ``data``: a DataFrame, or a file or folder path."""
    if not isinstance(name, str) or not name:
        raise InvalidArgument("a dataset needs a name")
    if hasattr(data, "dtypes") and hasattr(data, "columns"):
        return DatasetInput(name, frame_digest(data), role, len(data), None)
    if isinstance(data, str | Path):
        path = Path(data)
        if not path.exists():
            raise NotFound(f"no file or folder at {path}")
        rows = None
        if path.is_file() and path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(path).metadata.num_rows
        return DatasetInput(name, path_digest(path), role, rows, str(path.resolve()))
    raise InvalidArgument(
        f"cannot log {type(data).__name__} as a dataset", hint="pass a pandas DataFrame or a path"
    )
