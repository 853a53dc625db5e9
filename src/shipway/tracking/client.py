"""The tracking client: experiments, runs, values, artifacts and search over one set of stores."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument, NotFound
from shipway.store import Stores
from shipway.store.artifacts import clean_key
from shipway.store.validation import check_key, check_metric_value, check_step
from shipway.tracking import datasets, environment
from shipway.tracking.buffer import MetricBuffer
from shipway.types import ArtifactInfo, Experiment, Metric, Run, RunStatus


class TrackingClient:
    """Everything about runs, on the stores ``stores`` points at."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.store = stores.tracking
        self.buffer = MetricBuffer(self.store.log_batch, stores.settings.flush_seconds)
        self._experiments: dict[str, Experiment] = {}
        self._stored_environments: set[str] = set()

    @property
    def user(self) -> str:
        return self.stores.settings.user

    # -- experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment:
        return self.store.create_experiment(name, tags)

    def get_experiment(self, name: str) -> Experiment:
        return self.store.get_experiment(name)

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        return self.store.list_experiments()

    # -- runs --------------------------------------------------------------------------
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
    ) -> Run:
        from shipway.store.tracking_store import DEFAULT_EXPERIMENT

        name_or_default = experiment or DEFAULT_EXPERIMENT
        exp = self._experiments.get(name_or_default)
        if exp is None:  # experiments are never renamed or deleted, so a hit stays right
            exp = self._experiments[name_or_default] = self.store.get_or_create_experiment(
                name_or_default
            )
        env_tags: dict[str, str] = {}
        if capture_environment:
            env_tags, full_env = environment.capture()
            env_tags["shipway.environment"] = self._store_environment(full_env)
        run = self.store.create_run(
            exp.experiment_id,
            name=name,
            user=user or self.user,
            artifact_root=self.stores.artifacts.root,
            parent_run_id=parent_run_id,
            params=params,
            tags={**env_tags, **(tags or {})},
        )
        return run

    def _store_environment(self, full_env: dict[str, Any]) -> str:
        """The environment document, stored once by content; runs refer to it by key."""
        from shipway.store.artifacts import digest_bytes

        data = json.dumps(full_env, indent=2, sort_keys=True, default=str).encode()
        key = "environments/" + digest_bytes(data).split(":", 1)[1] + ".json"
        if key not in self._stored_environments:
            if not self.stores.artifacts.exists(key):
                self.stores.artifacts.put_bytes(data, key)
            self._stored_environments.add(key)
        return key

    def get_environment(self, run_id: str) -> dict[str, Any]:
        """The full environment a run recorded: interpreter, platform, every package."""
        key = self.store.get_run(run_id).tags.get("shipway.environment")
        if key is None:
            raise NotFound(f"run {run_id} recorded no environment")
        return json.loads(self.stores.artifacts.read_bytes(key))

    def end_run(self, run_id: str, status: RunStatus | str = RunStatus.FINISHED) -> None:
        try:
            status = RunStatus(str(status).upper())
        except ValueError as exc:
            raise InvalidArgument(
                f"unknown run status {status!r}", hint="use FINISHED, FAILED or KILLED"
            ) from exc
        self.buffer.flush()
        self.store.end_run(run_id, status)

    def get_run(self, run_id: str) -> Run:
        self.buffer.flush()
        return self.store.get_run(run_id)

    # -- values ------------------------------------------------------------------------
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

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Written now, in one transaction."""
        self.store.log_batch(run_id, metrics, params, tags)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.store.log_batch(run_id, params=params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.store.log_batch(run_id, tags=tags)

    def flush(self) -> None:
        self.buffer.flush()

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.buffer.flush()
        return self.store.get_metric_history(run_id, key)

    # -- artifacts ---------------------------------------------------------------------
    def _key(self, run: Run, path: str) -> str:
        return f"{run.experiment_id}/{run.run_id}/artifacts/{clean_key(path)}"

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload a file (or a folder) into the run's artifacts, under ``artifact_path``."""
        run = self.store.get_run(run_id)
        local = Path(local_path)
        if not local.exists():
            raise NotFound(f"no file or folder at {local}")
        prefix = clean_key(artifact_path) if artifact_path else ""
        if local.is_dir():
            base = f"{prefix}/{local.name}" if prefix else local.name
            infos = self._upload_dir(run, local, base)
        else:
            rel = f"{prefix}/{local.name}" if prefix else local.name
            info = self.stores.artifacts.put_file(local, self._key(run, rel))
            infos = [ArtifactInfo(rel, info.size, info.digest)]
        self.store.record_artifacts(run_id, infos)
        return infos

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        """Upload the contents of a folder (not the folder itself) under ``artifact_path``."""
        run = self.store.get_run(run_id)
        local = Path(local_dir)
        if not local.is_dir():
            raise NotFound(f"no folder at {local}")
        infos = self._upload_dir(run, local, clean_key(artifact_path) if artifact_path else "")
        self.store.record_artifacts(run_id, infos)
        return infos

    def _upload_dir(self, run: Run, local: Path, base: str) -> list[ArtifactInfo]:
        infos = []
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            rel = (
                f"{base}/{file.relative_to(local).as_posix()}"
                if base
                else file.relative_to(local).as_posix()
            )
            info = self.stores.artifacts.put_file(file, self._key(run, rel))
            infos.append(ArtifactInfo(rel, info.size, info.digest))
        return infos

    def log_stream(self, run_id: str, source: Any, artifact_file: str) -> ArtifactInfo:
        """Store a readable binary stream as one artifact: hashed on the way, atomic at the end."""
        run = self.store.get_run(run_id)
        rel = clean_key(artifact_file)
        info = self.stores.artifacts.put_stream(source, self._key(run, rel))
        record = ArtifactInfo(rel, info.size, info.digest)
        self.store.record_artifacts(run_id, [record])
        return record

    def open_artifact(self, run_id: str, artifact_file: str) -> tuple[ArtifactInfo, Any]:
        """The recorded size and hash of one artifact file, and a binary stream of it."""
        run = self.store.get_run(run_id)
        rel = clean_key(artifact_file)
        found = [i for i in self.store.list_artifacts(run_id, rel) if i.path == rel]
        if not found:
            raise NotFound(f"run {run_id} has no artifact file {rel!r}")
        return found[0], self.stores.artifacts.open(self._key(run, rel))

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> ArtifactInfo:
        run = self.store.get_run(run_id)
        rel = clean_key(artifact_file)
        info = self.stores.artifacts.put_bytes(data, self._key(run, rel))
        record = ArtifactInfo(rel, info.size, info.digest)
        self.store.record_artifacts(run_id, [record])
        return record

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
        import io

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
        import io

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

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        return self.store.list_artifacts(run_id, path)

    def download_artifacts(self, run_id: str, path: str, dst: str | Path | None = None) -> Path:
        """Download a file or folder of the run's artifacts, verifying every recorded hash."""
        run = self.store.get_run(run_id)
        infos = self.store.list_artifacts(run_id, path)
        if not infos:
            raise NotFound(
                f"run {run_id} has no artifact at {path!r}",
                hint=f"see `shipway runs show {run_id}`",
            )
        target = Path(dst) if dst is not None else Path(tempfile.mkdtemp(prefix="shipway-"))
        clean = clean_key(path) if path else ""
        # Like MLflow: a file lands as target/<name>, a folder as target/<folder name>/...
        base = target / Path(clean).name if clean else target
        for info in infos:
            local = (
                base if info.path == clean else base / info.path[len(clean) + 1 if clean else 0 :]
            )
            self.stores.artifacts.get_file(self._key(run, info.path), local, digest=info.digest)
        return base

    # -- datasets ----------------------------------------------------------------------
    def log_dataset(self, run_id: str, name: str, data: Any, role: str = "train") -> str:
        """Record the data's content hash as the run's input; returns the digest."""
        record = datasets.describe(name, data, role)
        self.store.log_inputs(run_id, [record])
        return record.digest

    # -- search ------------------------------------------------------------------------
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
        if names:
            ids = [self.store.get_experiment(n).experiment_id for n in names]
        else:
            ids = [e.experiment_id for e, _ in self.store.list_experiments()]
        runs = self.store.search_runs(ids, filter, order_by, max_results)
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
