"""The local tracking backend: experiments, runs, values and artifacts in the stores."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipway.config import Settings
from shipway.data import digests as datasets
from shipway.errors import NotFound
from shipway.store import Stores
from shipway.store.artifacts import clean_key
from shipway.store.tracking_store import DEFAULT_EXPERIMENT
from shipway.tracking import environment
from shipway.tracking.backend import TrackingBackend, runs_frame
from shipway.tracking.buffer import MetricBuffer
from shipway.tracking.environment import environment_document, environment_key
from shipway.types import ArtifactInfo, DatasetInput, Experiment, Metric, Run, RunStatus

__all__ = ["LocalTracking", "runs_frame"]


class LocalTracking(TrackingBackend):
    """Everything about runs, on the stores ``stores`` points at (which its session owns)."""

    def __init__(self, stores: Stores) -> None:
        self.stores = stores
        self.store = stores.tracking
        self.buffer = MetricBuffer(
            lambda run_id, metrics, _key: self.store.log_batch(run_id, metrics),
            stores.settings.tracking.flush_seconds,
        )
        self._experiments: dict[str, Experiment] = {}
        self._stored_environments: set[str] = set()
        self._experiment_of: dict[str, str] = {}

    @property
    def settings(self) -> Settings:  # type: ignore[override]
        return self.stores.settings

    # -- experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment:
        return self.store.create_experiment(name, tags)

    def get_experiment(self, name_or_id: str) -> Experiment:
        return self.store.get_experiment(name_or_id)

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
        data = environment_document(full_env)
        key = environment_key(data)
        if key not in self._stored_environments:
            self.put_environment(data)
            self._stored_environments.add(key)
        return key

    def put_environment(self, data: bytes) -> str:
        """Store an environment document (JSON bytes) by content; returns its key."""
        json.loads(data)  # refuse what is not JSON before storing it
        key = environment_key(data)
        if not self.stores.artifacts.exists(key):
            self.stores.artifacts.put_bytes(data, key)
        return key

    def read_environment(self, key: str) -> dict[str, Any]:
        if not self.stores.artifacts.exists(key):
            raise NotFound(f"no environment document {key!r}")
        document: dict[str, Any] = json.loads(self.stores.artifacts.read_bytes(key))
        return document

    def get_environment(self, run_id: str) -> dict[str, Any]:
        """The full environment a run recorded: interpreter, platform, every package."""
        key = self.store.get_run(run_id).tags.get("shipway.environment")
        if key is None:
            raise NotFound(f"run {run_id} recorded no environment")
        return self.read_environment(key)

    def _end_run(self, run_id: str, status: RunStatus) -> None:
        self.store.end_run(run_id, status)

    def _get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def _metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self.store.get_metric_history(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Written now, in one transaction."""
        self.store.log_batch(run_id, metrics, params, tags)

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
            self.store.check_artifact_writes(run_id, [rel])
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
        files = sorted(p for p in local.rglob("*") if p.is_file())
        paths = [f"{base}/{f.relative_to(local).as_posix()}".lstrip("/") for f in files]
        self.store.check_artifact_writes(run.run_id, paths)
        infos = []
        for file, rel in zip(files, paths, strict=True):
            info = self.stores.artifacts.put_file(file, self._key(run, rel))
            infos.append(ArtifactInfo(rel, info.size, info.digest))
        return infos

    def log_stream(self, run_id: str, source: Any, artifact_file: str) -> ArtifactInfo:
        """Store a readable binary stream as one artifact: hashed on the way, atomic at the end."""
        run = self.store.get_run(run_id)
        rel = clean_key(artifact_file)
        self.store.check_artifact_writes(run_id, [rel])
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
        self.store.check_artifact_writes(run_id, [rel])
        info = self.stores.artifacts.put_bytes(data, self._key(run, rel))
        record = ArtifactInfo(rel, info.size, info.digest)
        self.store.record_artifacts(run_id, [record])
        return record

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        return self.store.list_artifacts(run_id, path)

    def _fetch(self, run_id: str, info: ArtifactInfo, local: Path) -> None:
        if run_id not in self._experiment_of:  # a run never moves: one lookup per run
            self._experiment_of[run_id] = self.store.get_run(run_id).experiment_id
        key = f"{self._experiment_of[run_id]}/{run_id}/artifacts/{clean_key(info.path)}"
        self.stores.artifacts.get_file(key, local, digest=info.digest)

    # -- datasets ----------------------------------------------------------------------
    def log_dataset(self, run_id: str, name: str, data: Any, role: str = "train") -> str:
        """Record the data's content hash as the run's input; returns the digest."""
        record = datasets.describe(name, data, role)
        self.store.log_inputs(run_id, [record])
        return record.digest

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        self.store.log_inputs(run_id, list(inputs))

    # -- search ------------------------------------------------------------------------
    def _search(
        self,
        experiments: list[str],
        filter: str | None,  # noqa: A002
        order_by: Sequence[str] | None,
        max_results: int,
    ) -> list[Run]:
        return self.store.search_runs(
            self.experiment_ids(experiments), filter, order_by, max_results
        )

    def experiment_ids(self, experiments: Sequence[str]) -> list[str]:
        """The ids of experiments named (or given by id); every experiment's for none."""
        if experiments:
            return [self.store.get_experiment(n).experiment_id for n in experiments]
        return [e.experiment_id for e, _ in self.store.list_experiments()]
