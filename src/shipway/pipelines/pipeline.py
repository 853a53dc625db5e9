"""``@sw.pipeline``: a function that wires steps, run as one tracked run.

The pipeline's run is in the experiment named after the pipeline, with the pipeline's
parameters as params; each step is a nested run (see :mod:`shipway.pipelines.runner`).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

from shipway.errors import InvalidArgument
from shipway.pipelines.graph import Output, build
from shipway.pipelines.runner import PIPELINE, PipelineRun, Runner, _plain_params


class Pipeline:
    """A function made a pipeline (see :func:`pipeline`). Calling it runs it."""

    def __init__(self, fn: Callable[..., Any], name: str | None = None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        functools.update_wrapper(self, fn)

    def __call__(self, **params: Any) -> PipelineRun:
        return self.run(**params)

    def run(
        self,
        *,
        cache: bool = True,
        from_step: str | None = None,
        executor: str = "local",
        tracking: Any = None,
        say: Callable[[str], None] | None = None,
        **params: Any,
    ) -> PipelineRun:
        """Run every step (skipping those the cache has, unless ``cache=False``; from
        ``from_step`` on, steps run whatever the cache holds), in this process or as Ray
        tasks (``executor="ray"``); returns the run."""
        trusted: tuple[str, ...] = ()
        if tracking is None:
            from shipway.session import current

            tracking = current().tracking
            trusted = current().settings.pipelines.trust_cache_from
        graph, returned = build(self.fn, params)
        rerun = graph.downstream_of(from_step) if from_step else set()
        parent = tracking.create_run(
            self.name,
            name=self.name,
            params=_plain_params(params),
            tags={PIPELINE: self.name, f"{PIPELINE}.steps": ",".join(n.name for n in graph.nodes)},
        )
        run = PipelineRun(self.name, parent.run_id)
        try:
            Runner(
                tracking,
                self.name,
                graph,
                cache=cache,
                trusted=(parent.user, *trusted),
                rerun=rerun,
                executor=executor,
                say=say,
            ).run(run)
        except BaseException:
            tracking.end_run(parent.run_id, "FAILED")
            raise
        tracking.set_tags(parent.run_id, {f"{PIPELINE}.cached": ",".join(run.cached)})
        tracking.end_run(parent.run_id, "FINISHED")
        run.returned = _values(returned, run)
        return run


def _values(returned: Any, run: PipelineRun) -> Any:
    if isinstance(returned, Output):
        return run.output(returned.node.name)
    if isinstance(returned, tuple | list):
        return type(returned)(_values(v, run) for v in returned)
    if isinstance(returned, dict):
        return {k: _values(v, run) for k, v in returned.items()}
    return returned


@overload
def pipeline(fn: Callable[..., Any], *, name: str | None = None) -> Pipeline: ...


@overload
def pipeline(
    fn: None = None, *, name: str | None = None
) -> Callable[[Callable[..., Any]], Pipeline]: ...


def pipeline(
    fn: Callable[..., Any] | None = None, *, name: str | None = None
) -> Pipeline | Callable[[Callable[..., Any]], Pipeline]:
    """Make ``fn`` a pipeline: ``@sw.pipeline`` or ``@sw.pipeline(name="retrain")``."""
    if fn is None:

        def made(f: Callable[..., Any]) -> Pipeline:
            return Pipeline(f, name=name)

        return made
    return Pipeline(fn, name=name)


def _where_failed(exc: Exception, path: Path) -> str:
    """The error and the line of ``path`` (or of its syntax) where it arose."""
    import traceback

    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    at = f" (line {line})" if line else ""
    return f"{type(exc).__name__}: {exc}{at}"


def _origin(module_name: str) -> Path:
    """The file a module is loaded from (its name when that cannot be told)."""
    try:
        spec = importlib.util.find_spec(module_name)
    except Exception:  # a parent package that fails to import
        spec = None
    return Path(spec.origin) if spec is not None and spec.origin else Path(module_name)


def _from_file(module_name: str) -> Any:
    """The module of ``path/to/file.py``; its folder on the import path (once), since the
    file imports its neighbours (features.py …)."""
    path = Path(module_name)
    if not path.is_file():
        raise InvalidArgument(f"no file {module_name}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module fails as it loads: say where
        raise InvalidArgument(f"{module_name} fails to load: {_where_failed(exc, path)}") from exc
    return module


def _imported(module_name: str) -> Any:
    """The module named ``module_name``, from the working folder or the installed ones."""
    here = str(Path.cwd())
    if here not in sys.path:  # once: a controller loads its pipeline at every training
        sys.path.insert(0, here)
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise InvalidArgument(f"cannot import {module_name!r}: {exc}") from None
    except Exception as exc:  # the user's module fails as it loads: say what and where
        raise InvalidArgument(
            f"{module_name} fails to load: {_where_failed(exc, _origin(module_name))}"
        ) from exc


def load(reference: str) -> Pipeline:
    """The pipeline ``module:function`` or ``path/to/file.py:function`` names."""
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise InvalidArgument(
            f"{reference!r} does not name a pipeline",
            hint="use module:function or file.py:function",
        )
    module = _from_file(module_name) if module_name.endswith(".py") else _imported(module_name)
    found = getattr(module, attribute, None)
    if isinstance(found, Pipeline):
        return found
    if callable(found):  # a plain function that calls steps is a pipeline too
        return Pipeline(found)
    raise InvalidArgument(f"{module_name} has no pipeline {attribute!r}")
