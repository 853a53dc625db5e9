"""``@sw.pipeline``: a function that wires steps, run as one tracked run.

The pipeline's run is in the experiment named after the pipeline, with the pipeline's
parameters as params; each step is a nested run (see :mod:`shipway.pipelines.runner`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, overload

from shipway.errors import InvalidArgument
from shipway.pipelines.graph import Output, build
from shipway.pipelines.runner import (
    PIPELINE,
    PROJECT_MODULE_PREFIX,
    PipelineRun,
    Runner,
    _plain_params,
)
from shipway.tracking.backend import TrackingBackend


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
        tracking: TrackingBackend | None = None,
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


def module_name_for(path: Path) -> str:
    """The name a project's file is imported under: unique to its path, so two projects'
    ``train.py`` in one process (a controller with several loops) never replace each other,
    and the same on every load, so a reload replaces its own earlier copy."""
    resolved = path.resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    stem = "".join(c if c.isalnum() else "_" for c in resolved.stem)
    return f"{PROJECT_MODULE_PREFIX}{digest}_{stem}"


@contextmanager
def _importing_from(folder: Path) -> Iterator[None]:
    """The folder on the import path while a module of it executes, and off it after, so
    loading a pipeline again and again never grows ``sys.path``. Its neighbours (features.py
    …) are imported from this folder even when another project's of the same name was
    loaded before; they stay importable by name afterwards (lazy imports, pickles)."""
    here = folder.resolve()
    for name, there in list(_NEIGHBOURS.items()):
        if there != here and (here / f"{name}.py").exists():
            sys.modules.pop(name, None)  # another project's module of that name
            del _NEIGHBOURS[name]
    sys.path.insert(0, str(here))
    try:
        yield
    finally:
        sys.path.remove(str(here))  # this entry, wherever it ended up
        for path in here.glob("*.py"):
            origin = getattr(sys.modules.get(path.stem), "__file__", None)
            if origin and Path(origin).resolve() == path.resolve():
                _NEIGHBOURS[path.stem] = here


# project modules imported by name from a project's folder (features.py …), and that folder:
# only these are ever taken out of sys.modules, never a library's or the standard library's
_NEIGHBOURS: dict[str, Path] = {}


def _pickled_by_value(module: Any, folder: Path) -> None:
    """Models and step outputs defined in a project's file, and in the neighbours it
    imported (features.py …), are pickled with their code: the file's unique module name
    cannot be imported elsewhere, and a neighbour's name may be another project's there
    (Ray's own cloudpickle is told as a step is sent, see :mod:`shipway.pipelines.runner`)."""
    import cloudpickle

    here = folder.resolve()
    neighbours = [sys.modules[n] for n, there in _NEIGHBOURS.items() if there == here]
    for each in [module, *neighbours]:
        cloudpickle.register_pickle_by_value(each)


def _from_file(module_name: str) -> Any:
    """The module of ``path/to/file.py``, under a name unique to its path."""
    path = Path(module_name)
    if not path.is_file():
        raise InvalidArgument(f"no file {module_name}")
    unique = module_name_for(path)
    spec = importlib.util.spec_from_file_location(unique, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module  # dataclasses and pickles look their module up here
    try:
        with _importing_from(path.parent):
            spec.loader.exec_module(module)
    except Exception as exc:  # the user's module fails as it loads: say where
        sys.modules.pop(unique, None)
        raise InvalidArgument(f"{module_name} fails to load: {_where_failed(exc, path)}") from exc
    _pickled_by_value(module, path.parent)
    return module


def _imported(module_name: str) -> Any:
    """The module named ``module_name``, from the working folder or the installed ones."""
    with _importing_from(Path.cwd()):
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
