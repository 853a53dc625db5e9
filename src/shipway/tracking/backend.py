"""The one tracking interface, with two implementations: the local stores and a remote server.

:class:`TrackingBackend` holds what both share: checking values before they are buffered,
turning dicts, tables and figures into artifact bytes, and the shape of search results.
A subclass supplies the primitives: :class:`shipway.tracking.local.LocalTracking` writes
to the stores itself, ``shipway.client.RemoteTracking`` sends them to ``shipway server``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.config import Settings
from shipway.errors import InvalidArgument, NotFound
from shipway.store.artifacts import clean_key
from shipway.store.validation import check_key, check_metric_value, check_step
from shipway.tracking.buffer import MetricBuffer
from shipway.types import ArtifactInfo, Experiment, Metric, Run, RunStatus


class TrackingBackend(ABC):
    """Experiments, runs, values and artifacts, wherever they are kept."""

    settings: Settings
    buffer: MetricBuffer

    @property
    def user(self) -> str:
        return self.settings.user

    # -- primitives each backend supplies --------------------------------------------
    @abstractmethod
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment: ...

    @abstractmethod
    def get_experiment(self, name_or_id: str) -> Experiment: ...

    @abstractmethod
    def list_experiments(self) -> list[tuple[Experiment, int]]: ...

    @abstractmethod
    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        capture_environment: bool = True,
        user: str | None = None,
    ) -> Run: ...

    @abstractmethod
    def _end_run(self, run_id: str, status: RunStatus) -> None: ...

    @abstractmethod
    def _get_run(self, run_id: str) -> Run: ...

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Written now, all or nothing."""

    @abstractmethod
    def _metric_history(self, run_id: str, key: str) -> list[Metric]: ...

    @abstractmethod
    def get_environment(self, run_id: str) -> dict[str, Any]:
        """The full environment a run recorded: interpreter, platform, every package."""

    @abstractmethod
    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload a file (or a folder) into the run's artifacts, under ``artifact_path``."""

    @abstractmethod
    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload the contents of a folder (not the folder itself) under ``artifact_path``."""

    @abstractmethod
    def log_stream(self, run_id: str, source: Any, artifact_file: str) -> ArtifactInfo:
        """Store a readable binary stream as one artifact, atomically."""

    @abstractmethod
    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> ArtifactInfo: ...

    @abstractmethod
    def open_artifact(self, run_id: str, artifact_file: str) -> tuple[ArtifactInfo, Any]:
        """The recorded size and hash of one artifact file, and a binary stream of it."""

    @abstractmethod
    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]: ...

    @abstractmethod
    def _fetch(self, run_id: str, info: ArtifactInfo, local: Path) -> None:
        """Download one artifact file to ``local``, refusing bytes that miss its hash."""

    @abstractmethod
    def log_dataset(self, run_id: str, name: str, data: Any, role: str = "train") -> str:
        """Record the data's content hash as the run's input; returns the digest."""

    @abstractmethod
    def log_inputs(self, run_id: str, inputs: Sequence[Any]) -> None:
        """Record :class:`DatasetInput` records as the run's inputs."""

    @abstractmethod
    def _search(
        self,
        experiments: list[str],
        filter: str | None,  # noqa: A002
        order_by: Sequence[str] | None,
        max_results: int,
    ) -> list[Run]: ...

    def close(self) -> None:
        self.buffer.close()

    # -- shared behaviour --------------------------------------------------------------
    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> None:
        try:
            status = RunStatus(str(status).upper())
        except ValueError as exc:
            raise InvalidArgument(
                f"unknown run status {status!r}", hint="use FINISHED, FAILED or KILLED"
            ) from exc
        self.buffer.flush()
        self._end_run(run_id, status)

    def download_artifacts(self, run_id: str, path: str, dst: str | Path | None = None) -> Path:
        """Download a file or folder of the run's artifacts, verifying every recorded hash.

        Like MLflow, a file lands as ``dst/<name>`` and a folder as ``dst/<folder>/…``. The
        files arrive in a staging folder beside them and move into place only once all of
        them matched their hashes, so a failed download leaves nothing behind."""
        infos = self.list_artifacts(run_id, path)
        if not infos:
            raise NotFound(
                f"run {run_id} has no artifact at {path!r}",
                hint=f"see `shipway runs show {run_id}`",
            )
        target = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="shipway-"))
        target.mkdir(parents=True, exist_ok=True)
        clean = clean_key(path) if path else ""
        name = Path(clean).name if clean else ""
        staging = Path(tempfile.mkdtemp(prefix=".shipway-partial-", dir=target))
        try:
            base = staging / (name or "all")
            for info in infos:
                rel = info.path[len(clean) + 1 if clean else 0 :]
                self._fetch(run_id, info, base if info.path == clean else base / rel)
            _move_into(base, target / name if name else target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target / name if name else target

    def get_run(self, run_id: str) -> Run:
        self.buffer.flush()
        return self._get_run(run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.buffer.flush()
        return self._metric_history(run_id, key)

    def log_metric(
        self, run_id: str, key: str, value: Any, step: int = 0, timestamp: float | None = None
    ) -> None:
        """Buffered: checked now, written within ``flush_seconds``."""
        metric = Metric(
            check_key(key, "metric"),
            check_metric_value(key, value),
            check_step(step),
            timestamp or time.time(),
        )
        self.buffer.add(run_id, metric)

    def log_metrics(
        self, run_id: str, metrics: Mapping[str, Any], step: int = 0, timestamp: float | None = None
    ) -> None:
        now = timestamp or time.time()
        for key, value in metrics.items():
            self.log_metric(run_id, key, value, step, now)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.log_batch(run_id, params=params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.log_batch(run_id, tags=tags)

    def flush(self) -> None:
        self.buffer.flush()

    def log_text(self, run_id: str, text: str, artifact_file: str) -> ArtifactInfo:
        return self.log_bytes(run_id, text.encode(), artifact_file)

    def log_dict(self, run_id: str, obj: Any, artifact_file: str) -> ArtifactInfo:
        """JSON, or YAML when the file name ends in .yaml/.yml."""
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(obj, sort_keys=False)
        else:
            text = json.dumps(obj, indent=2, default=str)
        return self.log_text(run_id, text, artifact_file)

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> ArtifactInfo:
        """A matplotlib figure (or anything with ``savefig``/``write_image``) as an image."""
        buffer = io.BytesIO()
        fmt = Path(artifact_file).suffix.lstrip(".") or "png"
        if hasattr(figure, "savefig"):
            figure.savefig(buffer, format=fmt, bbox_inches="tight")
        elif hasattr(figure, "write_image"):
            figure.write_image(buffer, format=fmt)
        else:
            raise InvalidArgument(
                f"cannot save a {type(figure).__name__} as a figure",
                hint="pass a matplotlib Figure",
            )
        return self.log_bytes(run_id, buffer.getvalue(), artifact_file)

    def log_table(self, run_id: str, table: Any, artifact_file: str) -> ArtifactInfo:
        """A DataFrame (or dict of columns) as Parquet, CSV or JSON, by the file's extension."""
        import pandas as pd

        df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
        if artifact_file.endswith(".parquet"):
            buffer = io.BytesIO()
            df.to_parquet(buffer, index=False)
            data = buffer.getvalue()
        elif artifact_file.endswith(".csv"):
            data = df.to_csv(index=False).encode()
        elif artifact_file.endswith(".json"):
            data = df.to_json(orient="split", index=False).encode()
        else:
            raise InvalidArgument(
                f"unknown table format for {artifact_file!r}",
                hint="end the name in .parquet, .csv or .json",
            )
        return self.log_bytes(run_id, data, artifact_file)

    def search_runs(
        self,
        experiments: str | Sequence[str] | None = None,
        filter: str | None = None,  # noqa: A002 - the name users know from MLflow
        order_by: Sequence[str] | None = None,
        max_results: int = 1000,
        output: str = "pandas",
    ) -> Any:
        if output not in ("pandas", "list"):
            raise InvalidArgument(f"output must be 'pandas' or 'list', got {output!r}")
        self.buffer.flush()
        names = [experiments] if isinstance(experiments, str) else list(experiments or [])
        runs = self._search(names, filter, order_by, max_results)
        return runs if output == "list" else runs_frame(runs)


def runs_frame(runs: Sequence[Run]) -> Any:
    """Runs as a DataFrame with the columns MLflow users expect."""
    import pandas as pd

    records = []
    for r in runs:
        row: dict[str, Any] = {
            "run_id": r.run_id,
            "experiment_id": r.experiment_id,
            "run_name": r.name,
            "status": r.status.value,
            "start_time": pd.Timestamp(r.start_time, unit="s", tz="UTC"),
            "end_time": pd.Timestamp(r.end_time, unit="s", tz="UTC") if r.end_time else pd.NaT,
            "user": r.user,
            "artifact_uri": r.artifact_uri,
        }
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        row.update({f"params.{k}": v for k, v in r.params.items()})
        row.update({f"tags.{k}": v for k, v in r.tags.items()})
        records.append(row)
    columns = [
        "run_id",
        "experiment_id",
        "run_name",
        "status",
        "start_time",
        "end_time",
        "user",
        "artifact_uri",
    ]
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=columns)
    rest = sorted(c for c in frame.columns if c not in columns)
    return frame[columns + rest]


def _move_into(source: Path, destination: Path) -> None:
    """Move a downloaded file or folder into place, replacing files already there."""
    if source.is_file() or not destination.is_dir():
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.is_dir():
            shutil.rmtree(destination)
        os.replace(source, destination)
        return
    for child in source.iterdir():
        _move_into(child, destination / child.name)
