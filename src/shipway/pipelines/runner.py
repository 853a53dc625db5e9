"""Running a pipeline's graph: each step as a nested run of the pipeline's run, its result an
artifact with lineage, skipped when the cache has it, retried when it may be, independent
steps at the same time.

The cache key of a step is a hash of its code, its parameters and the hashes of its inputs
(the artifacts upstream steps stored). A step is skipped when a finished step run of the same
pipeline has that key and its output artifact is still there; the new step run then says
where its result came from (``shipway.step.cached_from``).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from shipway.errors import IntegrityError, InvalidArgument, NotFound, ShipwayError, require
from shipway.pipelines import outputs
from shipway.pipelines.graph import Graph, Node, Output
from shipway.store.artifacts import digest_bytes
from shipway.tracking.backend import TrackingBackend

STEP = "shipway.step"
PIPELINE = "shipway.pipeline"
KEY = "shipway.step.cache_key"  # on a run that ran the step: its result is reusable
REUSED_KEY = "shipway.step.reused_key"  # on a run that reused another's result
_MISSING = object()


class StepFailed(ShipwayError):
    """A step raised (after its retries): the pipeline run failed, its later steps did not run."""

    code = "STEP_FAILED"
    exit_code = 1


@dataclass
class StepResult:
    name: str
    run_id: str
    cached: bool
    digest: str  # the output artifact's hash
    artifact: str  # its file in the step run
    value: Any = None
    attempts: int = 1
    seconds: float = 0.0


@dataclass
class PipelineRun:
    """One run of a pipeline: its tracked run and each step's result."""

    name: str
    run_id: str
    steps: dict[str, StepResult] = field(default_factory=dict)
    returned: Any = None  # what the pipeline function returned, outputs replaced by values

    def output(self, step: str) -> Any:
        return self.steps[step].value

    @property
    def cached(self) -> list[str]:
        return [name for name, s in self.steps.items() if s.cached]


def _in_process() -> Callable[[Callable[..., Any], dict[str, Any]], Any]:
    return lambda fn, arguments: fn(**arguments)


def _on_ray() -> Callable[[Callable[..., Any], dict[str, Any]], Any]:
    """Each step's function as a Ray task; the tracking, the cache and the retries stay here,
    so results and cache hits are the same as in process. ``ray.init`` joins the cluster
    ``RAY_ADDRESS`` names, or starts a local one."""

    ray = require("ray", "ray")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)

    @ray.remote  # type: ignore[untyped-decorator, unused-ignore]
    def call(fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        value = fn(**arguments)
        try:  # encoded here, so the bytes stored are the bytes a local run would store
            return outputs.Encoded(*outputs.encode(value))
        except Exception:  # the driver says why it cannot be stored
            return value

    def run(fn: Callable[..., Any], arguments: dict[str, Any]) -> Any:
        module = sys.modules.get(getattr(fn, "__module__", "") or "")
        if module is not None and module.__name__.startswith(PROJECT_MODULE_PREFIX):
            # a project file's unique module name cannot be imported by a worker: by value
            ray.cloudpickle.register_pickle_by_value(module)
        try:
            return ray.get(call.remote(fn, arguments))
        except ray.exceptions.RayTaskError as exc:  # the step's own error, as it raised it
            cause = exc.as_instanceof_cause()
            raise (cause if isinstance(cause, Exception) else RuntimeError(str(exc))) from None

    return run


EXECUTORS = {"local": _in_process, "ray": _on_ray}
PROJECT_MODULE_PREFIX = "shipway_project_"  # see pipeline.module_name_for


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the cache key and the run's params see them (text for what JSON lacks)."""
    plain: dict[str, Any] = json.loads(json.dumps(params, sort_keys=True, default=repr))
    return plain


def cache_key(node: Node, inputs: dict[str, str]) -> str:
    document = {
        "step": node.step.name,
        "code": node.step.code_hash,
        "params": _plain_params(node.params),
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


class Runner:
    def __init__(
        self,
        tracking: TrackingBackend,
        pipeline: str,
        graph: Graph,
        *,
        cache: bool = True,
        trusted: Sequence[str] = (),
        rerun: set[str] | None = None,
        workers: int = 4,
        executor: str = "local",
        say: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if executor not in EXECUTORS:
            raise InvalidArgument(f"unknown executor {executor!r}", hint="use local or ray")
        self.call = EXECUTORS[executor]()
        self.tracking = tracking
        self.pipeline = pipeline
        self.graph = graph
        self.cache = cache
        # whose stored outputs may be reused: the runner's own identity and those it trusts
        self.trusted = tuple(trusted)
        self.rerun = rerun or set()  # steps that run whatever the cache holds (--from)
        self.workers = workers
        self.say = say or (lambda _: None)
        self.sleep = sleep

    def run(self, run: PipelineRun) -> None:
        pending = list(self.graph.nodes)
        running: dict[Future[StepResult], Node] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(
            max_workers=self.workers, thread_name_prefix="shipway-step"
        ) as pool:
            while pending or running:
                if failure is None:
                    for node in [n for n in pending if self._ready(n, run)]:
                        pending.remove(node)
                        # a step sees the session and the held-out rows its caller set
                        context = contextvars.copy_context()
                        running[pool.submit(context.run, self._step, node, run)] = node
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    node = running.pop(future)
                    try:
                        run.steps[node.name] = future.result()
                    except BaseException as exc:  # the others finish; nothing new starts
                        failure = failure or exc
        if failure is not None:
            raise failure

    @staticmethod
    def _ready(node: Node, run: PipelineRun) -> bool:
        return all(up.name in run.steps for up in node.upstream)

    def _step(self, node: Node, run: PipelineRun) -> StepResult:
        arguments = {
            k: run.steps[v.node.name].value if isinstance(v, Output) else v
            for k, v in node.arguments.items()
        }
        inputs = {
            k: run.steps[v.node.name].digest
            for k, v in node.arguments.items()
            if isinstance(v, Output)
        }
        key = cache_key(node, inputs)
        lineage = {
            k: {"step": v.node.name, "run_id": run.steps[v.node.name].run_id}
            for k, v in node.arguments.items()
            if isinstance(v, Output)
        }
        tags = {STEP: node.name, KEY: key, f"{STEP}.inputs": json.dumps(lineage, sort_keys=True)}
        if self.cache and self.trusted and node.step.cache and node.name not in self.rerun:
            for source, artifact, digest in self._cached(key):
                value = self._stored(node, source, artifact, digest)
                if value is not _MISSING:
                    return self._reuse(node, run, (source, artifact, digest), value, tags)
        return self._execute(node, run, arguments, tags)

    def _stored(self, node: Node, source: str, artifact: str, digest: str) -> Any:
        """A stored output, if its bytes are still there and still hash to what was recorded
        (only then unpickled: bytes changed since are never trusted); else ``_MISSING``."""
        try:
            _, stream = self.tracking.open_artifact(source, artifact)
            with stream:
                data = stream.read()
        except (NotFound, IntegrityError, OSError):
            return _MISSING
        if digest_bytes(data) != digest:
            self.say(
                f"{node.name}: the output stored by run {source[:12]} has changed since it was "
                "written; running the step again"
            )
            return _MISSING
        try:
            return outputs.decode(data, artifact)
        except Exception as exc:  # written by another version of a library: run it again
            self.say(f"{node.name}: the output stored by run {source[:12]} cannot be read ({exc})")
            return _MISSING

    def _cached(self, key: str) -> list[tuple[str, str, str]]:
        """The newest finished runs of this step with ``key`` that recorded an output: their
        id, the output's artifact and its hash. Only runs that ran the step carry ``KEY``; a
        reuse names its key under ``REUSED_KEY``, so reuses never crowd out the original."""
        users = ", ".join("'" + user.replace("'", "''") + "'" for user in self.trusted)
        query = (
            f"tags.`{KEY}` = '{key}' and attributes.status = 'FINISHED'"
            f" and attributes.user IN ({users})"
        )
        found = []
        for previous in self.tracking.search_runs(
            self.pipeline, query, ["attributes.start_time DESC"], 20, output="list"
        ):
            if previous.user not in self.trusted:
                continue  # the query says so already; an output is unpickled, so check twice
            if previous.tags.get(f"{STEP}.cached_from"):
                continue  # a reuse that a store written before REUSED_KEY tagged with KEY
            stored = [
                a
                for a in self.tracking.list_artifacts(previous.run_id)
                if a.path.startswith(outputs.OUTPUT + ".")
            ]
            if stored:
                found.append((previous.run_id, stored[0].path, stored[0].digest))
        return found

    def _reuse(
        self,
        node: Node,
        run: PipelineRun,
        found: tuple[str, str, str],
        value: Any,
        tags: dict[str, str],
    ) -> StepResult:
        source, artifact, digest = found
        reused = {k: v for k, v in tags.items() if k != KEY} | {REUSED_KEY: tags[KEY]}
        step_run = self.tracking.create_run(
            self.pipeline,
            name=node.name,
            params=_plain_params(node.params),
            tags={**reused, f"{STEP}.cached_from": source, f"{STEP}.output_digest": digest},
            parent_run_id=run.run_id,
            capture_environment=False,
        )
        self.tracking.end_run(step_run.run_id, "FINISHED")
        self.say(f"{node.name}: cached (from run {source[:12]})")
        return StepResult(node.name, step_run.run_id, True, digest, artifact, value)

    def _execute(
        self, node: Node, run: PipelineRun, arguments: dict[str, Any], tags: dict[str, str]
    ) -> StepResult:
        step_run = self.tracking.create_run(
            self.pipeline,
            name=node.name,
            params=_plain_params(node.params),
            tags=tags,
            parent_run_id=run.run_id,
            capture_environment=False,
        )
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            try:
                value = self.call(node.step.fn, arguments)
                break
            except Exception as exc:
                if attempt > node.step.retries:
                    self.tracking.set_tags(step_run.run_id, {f"{STEP}.error": repr(exc)[:5000]})
                    self.tracking.end_run(step_run.run_id, "FAILED")
                    self.say(f"{node.name}: failed after {attempt} attempt(s): {exc}")
                    raise StepFailed(
                        f"step {node.name!r} failed after {attempt} attempt(s): {exc}",
                        hint=f"see `shipway pipeline show {run.run_id[:12]}`",
                    ) from exc
                wait_for = node.step.backoff * 2 ** (attempt - 1)
                self.say(
                    f"{node.name}: attempt {attempt} failed ({exc}); retrying in {wait_for:g} s"
                )
                self.sleep(wait_for)
        try:
            if isinstance(value, outputs.Encoded):
                data, artifact = value.data, value.name
                value = outputs.decode(data, artifact)
            else:
                data, artifact = outputs.encode(value)
        except Exception as exc:  # a lambda, an open file: no run may be left RUNNING
            self.tracking.set_tags(step_run.run_id, {f"{STEP}.error": repr(exc)[:5000]})
            self.tracking.end_run(step_run.run_id, "FAILED")
            raise StepFailed(
                f"step {node.name!r} returned a {type(value).__name__} that cannot be stored: {exc}",
                hint="return DataFrames, arrays, plain values or picklable objects",
            ) from exc
        info = self.tracking.log_bytes(step_run.run_id, data, artifact)
        seconds = time.perf_counter() - started
        self.tracking.set_tags(
            step_run.run_id, {f"{STEP}.output_digest": info.digest, f"{STEP}.attempts": attempt}
        )
        self.tracking.end_run(step_run.run_id, "FINISHED")
        self.say(f"{node.name}: ran in {seconds:.2f} s")
        return StepResult(
            node.name, step_run.run_id, False, info.digest, artifact, value, attempt, seconds
        )
