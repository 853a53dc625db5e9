"""Steps and the graph a pipeline function builds.

Calling a :class:`Step` while a pipeline is being built does not run it: it adds a
:class:`Node` to the graph and returns an :class:`Output`, a placeholder for the step's
result that later steps take as an argument. The arguments that are not placeholders are the
step's parameters. Outside a pipeline a step is the plain function it wraps.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload

from shipway.errors import InvalidArgument

_building: contextvars.ContextVar[Graph | None] = contextvars.ContextVar(
    "shipway_pipeline_graph", default=None
)


@dataclass(frozen=True)
class Output:
    """A step's result inside a pipeline definition."""

    node: Node

    def __repr__(self) -> str:
        return f"<output of step {self.node.name!r}>"

    def __bool__(self) -> bool:
        raise InvalidArgument(
            f"the output of step {self.node.name!r} is not known while the pipeline is built: "
            "pass it to another step instead of testing it in the pipeline function"
        )


@dataclass(eq=False)
class Node:
    name: str
    step: Step[..., Any]
    arguments: dict[str, Any]  # parameter name -> Output or a plain value

    @property
    def upstream(self) -> list[Node]:
        return [v.node for v in self.arguments.values() if isinstance(v, Output)]

    @property
    def params(self) -> dict[str, Any]:
        return {k: v for k, v in self.arguments.items() if not isinstance(v, Output)}


@dataclass
class Graph:
    nodes: list[Node] = field(default_factory=list)

    def add(self, step: Step[..., Any], arguments: dict[str, Any]) -> Node:
        taken = {n.name for n in self.nodes}
        name, count = step.name, 1
        while name in taken:  # a step called twice gets a numbered name
            count += 1
            name = f"{step.name}_{count}"
        node = Node(name, step, arguments)
        self.nodes.append(node)
        return node

    def downstream_of(self, name: str) -> set[str]:
        """``name`` and every step that takes its output, directly or not."""
        if name not in {n.name for n in self.nodes}:
            raise InvalidArgument(
                f"no step {name!r} in this pipeline",
                hint=f"its steps: {', '.join(n.name for n in self.nodes)}",
            )
        found = {name}
        for node in self.nodes:  # nodes are in the order they were added: upstream first
            if any(up.name in found for up in node.upstream):
                found.add(node.name)
        return found


P = ParamSpec("P")
R = TypeVar("R")


class Step(Generic[P, R]):
    """A function made a pipeline step (see :func:`step`). Typed as the function it wraps:
    inside a pipeline it returns a placeholder that stands for that result, and later steps
    take it where they take the result, so a type checker checks the wiring."""

    def __init__(
        self, fn: Callable[P, R], *, retries: int = 0, backoff: float = 1.0, cache: bool = True
    ) -> None:
        if retries < 0:
            raise InvalidArgument("retries is 0 or more")
        self.fn = fn
        self.name = fn.__name__
        self.retries = retries
        self.backoff = backoff  # seconds before the first retry; doubled each time
        self.cache = cache
        self.signature = inspect.signature(fn)
        functools.update_wrapper(self, fn)

    @functools.cached_property
    def code_hash(self) -> str:
        """What the cache key takes from the step's code: its source (without decorators)."""
        try:
            source = inspect.getsource(self.fn)
        except (OSError, TypeError):  # defined where no source is kept (a REPL): its bytecode
            source = repr(self.fn.__code__.co_code)
        lines = source.splitlines()
        while lines and lines[0].lstrip().startswith("@"):
            lines.pop(0)  # the decorator's options are not the step's code
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        graph = _building.get()
        if graph is None:
            return self.fn(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidArgument(f"step {self.name!r}: {exc}") from None
        bound.apply_defaults()
        from shipway.pipelines.param_types import check

        check(self.fn, dict(bound.arguments), f"step {self.name!r}")
        return Output(graph.add(self, dict(bound.arguments)))  # type: ignore[return-value]


@overload
def step(
    fn: Callable[P, R], *, retries: int = 0, backoff: float = 1.0, cache: bool = True
) -> Step[P, R]: ...


@overload
def step(
    fn: None = None, *, retries: int = 0, backoff: float = 1.0, cache: bool = True
) -> Callable[[Callable[P, R]], Step[P, R]]: ...


def step(
    fn: Callable[P, R] | None = None,
    *,
    retries: int = 0,
    backoff: float = 1.0,
    cache: bool = True,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make ``fn`` a pipeline step: ``@sw.step`` or ``@sw.step(retries=2, cache=False)``."""
    if fn is None:

        def made(f: Callable[P, R]) -> Step[P, R]:
            return Step(f, retries=retries, backoff=backoff, cache=cache)

        return made
    return Step(fn, retries=retries, backoff=backoff, cache=cache)


def build(fn: Callable[..., Any], params: dict[str, Any]) -> tuple[Graph, Any]:
    """Run the pipeline function to record its graph; returns it and what the function returned."""
    try:  # a parameter it does not take, or one it needs and lacks, is the caller's mistake
        inspect.signature(fn).bind(**params)
    except TypeError as exc:
        takes = ", ".join(inspect.signature(fn).parameters) or "none"
        raise InvalidArgument(
            f"pipeline {fn.__name__!r}: {exc}", hint=f"its parameters: {takes}"
        ) from None
    from shipway.pipelines.param_types import check

    check(fn, params, f"pipeline {fn.__name__!r}")
    graph = Graph()
    token = _building.set(graph)
    try:
        returned = fn(**params)
    finally:
        _building.reset(token)
    if not graph.nodes:
        raise InvalidArgument(f"pipeline {fn.__name__!r} calls no step")
    return graph, returned
