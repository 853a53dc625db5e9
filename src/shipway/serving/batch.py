"""Batch scoring: a file or a folder of Parquet or CSV files, in chunks, with bounded memory.

Parquet is read one record batch at a time and CSV in chunks, so memory holds one chunk of
input and its scores. The output is written as it goes (Parquet row groups, or CSV), with
the input's columns and a ``prediction`` column (and, with ``proba``, a ``score_CLASS`` column
per class of a classifier), and lands under its name only when complete.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

from shipway.errors import InvalidArgument, NotFound, require


class Progress(Protocol):
    """What a long job reports as it goes (the CLI draws it as a progress bar)."""

    def start(self, description: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...


class _Silent:
    def start(self, description: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass


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


def score_files(
    model: Any,
    source: Path,
    target: Path,
    *,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    on_chunk: Callable[[Any, Any], None] | None = None,
    proba: bool = False,
) -> int:
    """Score every row of ``source`` into ``target``; returns the number of rows.

    ``on_chunk(validated_inputs, predictions)`` sees each chunk (to log it, for example).
    """
    if target.suffix not in (".parquet", ".csv"):
        raise InvalidArgument(
            f"cannot write {target.name}", hint="end the output in .parquet or .csv"
        )
    scores = _class_scores(model) if proba else None
    files = _inputs(source)
    report = progress or _Silent()
    report.start(f"scoring {source.name}", _rows(files))
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    output = _Output(partial)
    try:
        for chunk in _chunks(files, chunk_rows):
            prepared = model.prepare(chunk)
            predictions = model.predict_prepared(prepared)
            if on_chunk is not None:
                on_chunk(prepared, predictions)
            scored = chunk.assign(prediction=_flat(predictions))
            if scores is not None:
                scored = scored.assign(**scores(prepared))
            output.write(scored)
            report.advance(len(chunk))
        output.close()
        if output.rows == 0:
            raise InvalidArgument(f"{source} has no rows to score")
        os.replace(partial, target)
    finally:
        output.close()
        partial.unlink(missing_ok=True)
    return output.rows


class _Output:
    """Scored chunks appended to one Parquet or CSV file, as they come."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows = 0
        self._writer: Any = None

    def write(self, scored: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.path.name.endswith(".csv.partial"):
            scored.to_csv(
                self.path, mode="a" if self.rows else "w", header=not self.rows, index=False
            )
        else:
            table = pa.Table.from_pandas(scored, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._writer.write_table(table.cast(self._writer.schema))
        self.rows += len(scored)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def score_into_log(
    model: Any,
    version: int,
    source: Path,
    target: Path,
    *,
    deployment: str,
    log: Any,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    proba: bool = False,
    caller: str | None = None,
) -> int:
    """:func:`score_files`, whose predictions also land in ``deployment``'s prediction log
    (``log``: a ``PredictionLog`` that waits rather than drops), so monitoring sees batch
    traffic beside the live one; ``caller`` (who scored) may label them later."""

    import numpy as np

    from shipway.serving.prediction_log import Logged

    batch_id = f"batch-{uuid.uuid4().hex[:12]}"
    scorer = model.score_prepared if hasattr(model.raw, "predict_proba") else None

    def on_chunk(prepared: Any, predictions: Any) -> None:
        outputs = np.asarray(predictions).tolist()
        logged = Logged(
            batch_id,
            time.time(),
            [version] * len(outputs),
            0.0,
            prepared.reset_index(drop=True),
            outputs,
            scorer=scorer,
            caller=caller,
        )
        log.append_predictions(deployment, logged)
        log.flush()

    try:
        return score_files(
            model,
            source,
            target,
            chunk_rows=chunk_rows,
            progress=progress,
            on_chunk=on_chunk,
            proba=proba,
        )
    finally:
        log.close()


def _class_scores(model: Any) -> Callable[[Any], dict[str, Any]]:
    """Each class's probability as a ``score_CLASS`` column, for a classifier."""
    import numpy as np

    if not hasattr(model.raw, "predict_proba"):
        raise InvalidArgument(
            f"--proba needs a classifier; a {type(model.raw).__name__} has no predict_proba"
        )
    labels = getattr(model.raw, "classes_", None)

    def columns(prepared: Any) -> dict[str, Any]:
        proba = np.asarray(model.raw.predict_proba(prepared), dtype=float)
        names = list(range(proba.shape[1])) if labels is None else list(labels)
        return {f"score_{label}": proba[:, i] for i, label in enumerate(names)}

    return columns


def _flat(predictions: Any) -> Any:
    import numpy as np

    array = np.asarray(predictions)
    return array if array.ndim == 1 else list(array)


def score_with_ray(
    model: Any,
    source: Path,
    target: Path,
    *,
    chunk_rows: int = 100_000,
    progress: Progress | None = None,
    proba: bool = False,
) -> int:
    """The same scoring as Ray tasks, one per input file, into a folder of Parquet files.

    The model travels through Ray's object store, so workers on other machines need only
    reach the input files. ``ray.init`` joins the cluster ``RAY_ADDRESS`` names, or starts
    a local one.
    """

    ray = require("ray", "ray")
    files = _inputs(source)
    if target.suffix in (".parquet", ".csv"):
        raise InvalidArgument(
            "with --engine ray the output is a folder: one Parquet file per input file",
            hint=f"pass --output {target.with_suffix('')}",
        )
    if target.exists() and any(target.iterdir()):
        raise InvalidArgument(f"{target} is not empty", hint="score into a new folder")
    if proba:
        _class_scores(model)  # refuse a regressor before any task starts
    target.mkdir(parents=True, exist_ok=True)
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
    model_ref = ray.put(model)

    @ray.remote  # type: ignore[untyped-decorator, unused-ignore]
    def score_one(shared: Any, path: str, out: str) -> int:
        return score_files(shared, Path(path), Path(out), chunk_rows=chunk_rows, proba=proba)

    names = _output_names(files, source)
    pending = [
        score_one.remote(model_ref, str(f), str(target / n))
        for f, n in zip(files, names, strict=True)
    ]
    report = progress or _Silent()
    report.start(f"scoring {len(files)} file(s) on Ray", len(pending))
    done = 0
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        done += sum(ray.get(ready))
        report.advance(len(ready))
    return done


def _output_names(files: list[Path], source: Path) -> list[str]:
    """One output name per input file, unique even when two folders hold the same name."""
    base = source if source.is_dir() else source.parent
    return [str(f.relative_to(base).with_suffix(".parquet")).replace("/", "__") for f in files]
