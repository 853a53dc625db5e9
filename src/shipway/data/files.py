"""Tables in files: the CSV and Parquet files that commands and checks read and write."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, NotFound

SUFFIXES = (".parquet", ".csv", ".txt")


def is_table_file(ref: str | Path) -> bool:
    """Whether ``ref`` names a table file (existing or not) rather than a stored dataset."""
    return Path(ref).suffix in SUFFIXES


def names_a_file(ref: str, root: Path | None = None) -> bool:
    """Whether ``ref`` is a file (under ``root``) rather than a dataset NAME or NAME@V."""
    return is_table_file(ref) or ((root or Path()) / ref).is_file()


def read_table(ref: str, load_dataset: Callable[[str], Any], root: Path | None = None) -> Any:
    """The table ``ref`` names: a CSV or Parquet file (under ``root``), else a dataset
    version, loaded by ``load_dataset`` (the store's, or a server's)."""
    if names_a_file(ref, root):
        return read_file((root or Path()) / ref)
    return load_dataset(ref)


def read_file(path: str | Path) -> Any:
    """The DataFrame in a CSV or Parquet file."""
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise NotFound(f"no file at {file}")
    try:
        if file.suffix == ".parquet":
            return pd.read_parquet(file)
        if file.suffix in (".csv", ".txt"):
            return pd.read_csv(file)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidArgument(f"cannot read {file}: {exc}") from exc
    raise InvalidArgument(f"cannot read {file.name}: use a .parquet or .csv file")


def write_file(frame: Any, path: str | Path) -> Path:
    """``frame`` as a CSV or Parquet file, by the suffix of ``path``."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    if file.suffix == ".parquet":
        frame.to_parquet(file, index=False)
    else:
        frame.to_csv(file, index=False)
    return file
