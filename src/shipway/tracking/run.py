"""The active run: a context manager that ends FINISHED, or FAILED on an exception."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipway.errors import InvalidArgument
from shipway.types import Run, RunStatus

if TYPE_CHECKING:
    from shipway.data.backend import DatasetBackend
    from shipway.tracking.backend import TrackingBackend


class ActiveRun:
    """A run being recorded. Use it with ``with``; every ``log_*`` writes to this run."""

    def __init__(
        self,
        client: TrackingBackend,
        run: Run,
        on_end: Any = None,
        datasets: Callable[[], DatasetBackend] | None = None,
    ) -> None:
        self.client = client
        self._datasets = datasets  # where snapshots of the run's data go (the session's)
        self.run_id = run.run_id
        self.experiment_id = run.experiment_id
        self.name = run.name
        self._on_end = on_end
        self.ended = False

    def __repr__(self) -> str:
        return f"<ActiveRun {self.name} ({self.run_id})>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is KeyboardInterrupt:
            self.end(RunStatus.KILLED)
        else:
            self.end(RunStatus.FAILED if exc_type else RunStatus.FINISHED)

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            self.client.end_run(self.run_id, status)
        finally:
            if self._on_end is not None:
                self._on_end(self)

    @property
    def info(self) -> Run:
        return self.client.get_run(self.run_id)

    # -- values ------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self.client.log_params(self.run_id, {key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.client.log_params(self.run_id, params)

    def log_metric(
        self, key: str, value: Any, step: int = 0, timestamp: float | None = None
    ) -> None:
        self.client.log_metric(self.run_id, key, value, step, timestamp)

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int = 0, timestamp: float | None = None
    ) -> None:
        self.client.log_metrics(self.run_id, metrics, step, timestamp)

    def set_tag(self, key: str, value: Any) -> None:
        self.client.set_tags(self.run_id, {key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.client.set_tags(self.run_id, tags)

    # -- artifacts ---------------------------------------------------------------------
    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> Any:
        return self.client.log_artifact(self.run_id, local_path, artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> Any:
        return self.client.log_artifacts(self.run_id, local_dir, artifact_path)

    def log_dict(self, obj: Any, artifact_file: str) -> Any:
        return self.client.log_dict(self.run_id, obj, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> Any:
        return self.client.log_text(self.run_id, text, artifact_file)

    def log_figure(self, figure: Any, artifact_file: str) -> Any:
        return self.client.log_figure(self.run_id, figure, artifact_file)

    def log_table(self, table: Any, artifact_file: str) -> Any:
        return self.client.log_table(self.run_id, table, artifact_file)

    def log_dataset(
        self, name: str, data: Any, role: str = "train", *, snapshot: bool = True
    ) -> Any:
        """Version ``data`` and record it as this run's input (``snapshot=False``: record its hash only)."""
        if not snapshot:
            return self.client.log_dataset(self.run_id, name, data, role)
        if self._datasets is None:
            raise InvalidArgument(
                "this run has no dataset store to snapshot into", hint="pass snapshot=False"
            )
        datasets = self._datasets()
        version, _ = datasets.add(name, data)
        self.client.log_inputs(self.run_id, [datasets.as_input(version, role)])
        return version

    def log_model(self, model: Any, name: str = "model", **kwargs: Any) -> Any:
        """Save ``model`` with its signature, requirements and hashes as an artifact of this run."""
        from shipway.tracking.model_logging import log_model

        return log_model(self.client, self.run_id, model, name, **kwargs)
