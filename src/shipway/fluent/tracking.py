"""The fluent tracking API: ``sw.start_run``, ``sw.log_metric`` and friends act on the active run."""

from __future__ import annotations

import atexit
import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipway.errors import InvalidArgument
from shipway.session import current
from shipway.tracking.run import ActiveRun
from shipway.types import Metric, Run


def start_run(
    experiment: str | None = None,
    name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    nested: bool | None = None,
) -> ActiveRun:
    """Start a run; inside another active run it becomes that run's child.

    ``nested=False`` refuses to start while another run is active.
    """
    ctx = current()
    parent = ctx.run_stack[-1] if ctx.run_stack else None
    if parent is not None and nested is False:
        raise InvalidArgument(
            f"run {parent.run_id} is still active", hint="end it first, or pass nested=True"
        )
    if parent is not None and experiment is None:
        experiment = ctx.tracking.get_experiment(
            parent.experiment_id
        ).name  # children stay with their parent
    run = ctx.tracking.create_run(
        experiment,
        name=name,
        params=params,
        tags=tags,
        parent_run_id=parent.run_id if parent else None,
    )
    active = ActiveRun(ctx.tracking, run, on_end=_pop, datasets=lambda: ctx.datasets)
    ctx.run_stack.append(active)
    _end_runs_at_exit()
    return active


_crashed = False
_exit_hook_installed = False


def _end_runs_at_exit() -> None:
    """Runs left open when the interpreter exits end FAILED after a crash, FINISHED otherwise."""
    global _exit_hook_installed
    if _exit_hook_installed:
        return
    _exit_hook_installed = True
    previous_hook = sys.excepthook

    def note_crash(*args: Any) -> None:
        global _crashed
        _crashed = True
        previous_hook(*args)

    sys.excepthook = note_crash

    def end_open_runs() -> None:
        for run in reversed(list(current().run_stack)):
            with contextlib.suppress(Exception):  # the store may be gone at exit
                run.end("FAILED" if _crashed else "FINISHED")

    atexit.register(end_open_runs)


def _pop(run: ActiveRun) -> None:
    stack = current().run_stack
    if run in stack:
        stack.remove(run)


def active_run() -> ActiveRun | None:
    """The innermost run started with ``sw.start_run`` that has not ended, or None."""
    stack = current().run_stack
    return stack[-1] if stack else None


def end_run(status: str = "FINISHED") -> None:
    """End the active run with ``status`` (FINISHED, FAILED or KILLED)."""
    run = active_run()
    if run is not None:
        run.end(status)


def _run() -> ActiveRun:
    """The active run; with none, a run is started, as MLflow does: it stays active until
    ``sw.end_run()`` or the end of the process (FINISHED, or FAILED after a crash)."""
    run = active_run()
    return run if run is not None else start_run()


def log_param(key: str, value: Any) -> None:
    """Log one param of the active run; params are write-once."""
    _run().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    """Log several params of the active run at once; params are write-once."""
    _run().log_params(params)


def log_metric(key: str, value: Any, step: int = 0, timestamp: float | None = None) -> None:
    """Log one value of a metric at ``step`` (buffered: written within ``flush_seconds``)."""
    _run().log_metric(key, value, step, timestamp)


def log_metrics(metrics: Mapping[str, Any], step: int = 0, timestamp: float | None = None) -> None:
    """Log several metrics at one ``step`` (buffered)."""
    _run().log_metrics(metrics, step, timestamp)


def set_tag(key: str, value: Any) -> None:
    """Set one tag of the active run (a tag may change)."""
    _run().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    """Set several tags of the active run."""
    _run().set_tags(tags)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> Any:
    """Upload a file or folder into the active run's artifacts, under ``artifact_path``."""
    return _run().log_artifact(local_path, artifact_path)


def log_artifacts(local_dir: str | Path, artifact_path: str | None = None) -> Any:
    """Upload the contents of a folder into the active run's artifacts."""
    return _run().log_artifacts(local_dir, artifact_path)


def log_dict(obj: Any, artifact_file: str) -> Any:
    """Store a dict as JSON (or YAML, by the file's extension) in the active run."""
    return _run().log_dict(obj, artifact_file)


def log_text(text: str, artifact_file: str) -> Any:
    """Store text as a file in the active run."""
    return _run().log_text(text, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> Any:
    """Store a matplotlib figure as an image in the active run."""
    return _run().log_figure(figure, artifact_file)


def log_table(table: Any, artifact_file: str) -> Any:
    """Store a DataFrame as Parquet, CSV or JSON (by the extension) in the active run."""
    return _run().log_table(table, artifact_file)


def log_model(model: Any, name: str = "model", **kwargs: Any) -> Any:
    """Save a model with its signature, requirements and hashes in the active run."""
    return _run().log_model(model, name, **kwargs)


def log_batch(
    run_id: str,
    metrics: list[Metric] | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
) -> None:
    """Write metrics, params and tags of the active run now, in one transaction."""
    current().tracking.log_batch(run_id, metrics or [], params, tags)


def flush() -> None:
    """Write buffered metrics now."""
    current().tracking.flush()


def get_run(run_id: str) -> Run:
    """A run with its params, latest metrics, tags and inputs."""
    return current().tracking.get_run(run_id)


def get_metric_history(run_id: str, key: str) -> list[Metric]:
    """Every value a metric of a run took, in step order."""
    return current().tracking.get_metric_history(run_id, key)


def search_runs(
    experiment: str | list[str] | None = None,
    filter: str | None = None,  # noqa: A002 - MLflow users know this name
    order_by: list[str] | None = None,
    max_results: int = 1000,
    output: str = "pandas",
) -> Any:
    """Runs matching ``filter`` as a DataFrame (``run_id``, ``params.*``, ``metrics.*``, ``tags.*``)."""
    return current().tracking.search_runs(experiment, filter, order_by, max_results, output)


def create_experiment(name: str, tags: Mapping[str, Any] | None = None) -> Any:
    """Create an experiment (a run's experiment is created on first use anyway)."""
    return current().tracking.create_experiment(name, tags)


def list_experiments() -> list[Any]:
    """Every experiment, with its number of runs."""
    return [e for e, _ in current().tracking.list_experiments()]
