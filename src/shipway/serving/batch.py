"""Batch scoring: a file or a folder of Parquet or CSV files, in chunks, with bounded memory.

Parquet is read one record batch at a time and CSV in chunks, so memory holds one chunk of
input and its scores. The output is written as it goes (Parquet row groups, or CSV), with
the input's columns and a ``prediction`` column, and lands under its name only when complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, NotFound


def _inputs(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".csv"))
        if not files:
            raise NotFound(f"no .parquet or .csv file in {path}")
        return files
    if not path.is_file():
        raise NotFound(f"no file or folder at {path}")
    if path.suffix not in (".parquet", ".csv"):
        raise InvalidArgument(f"cannot read {path.name}", hint="score a .parquet or .csv file")
    return [path]


def _rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    total = 0
    for file in files:
        if file.suffix == ".parquet":
            total += pq.ParquetFile(file).metadata.num_rows
        else:
            with file.open("rb") as f:
                total += max(sum(1 for _ in f) - 1, 0)
    return total


def _chunks(files: list[Path], chunk_rows: int) -> Iterator[Any]:
    import pandas as pd
    import pyarrow.parquet as pq

    for file in files:
        if file.suffix == ".parquet":
            for batch in pq.ParquetFile(file).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        else:
            yield from pd.read_csv(file, chunksize=chunk_rows)


def score_files(model: Any, source: Path, target: Path, *, chunk_rows: int = 100_000) -> int:
    """Score every row of ``source`` into ``target``; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rich.progress import Progress

    if target.suffix not in (".parquet", ".csv"):
        raise InvalidArgument(
            f"cannot write {target.name}", hint="end the output in .parquet or .csv"
        )
    files = _inputs(source)
    total = _rows(files)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    writer: Any = None
    done = 0
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task(f"scoring {source.name}", total=total)
            for chunk in _chunks(files, chunk_rows):
                scored = chunk.assign(prediction=_flat(model.predict(chunk)))
                if target.suffix == ".csv":
                    scored.to_csv(partial, mode="a" if done else "w", header=not done, index=False)
                else:
                    table = pa.Table.from_pandas(scored, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(partial, table.schema, compression="zstd")
                    writer.write_table(table.cast(writer.schema))
                done += len(chunk)
                progress.update(task, advance=len(chunk))
        if writer is not None:
            writer.close()
            writer = None
        if done == 0:
            raise InvalidArgument(f"{source} has no rows to score")
        os.replace(partial, target)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    return done


def _flat(predictions: Any) -> Any:
    import numpy as np

    array = np.asarray(predictions)
    return array if array.ndim == 1 else list(array)
