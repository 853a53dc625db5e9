"""Continuous-training loops as declared: ``[loops.DEPLOYMENT]`` in shipway.toml, checked when
loaded: the pipeline, its triggers (:mod:`shipway.automation.triggers`), the gate, the approval
and the rollout."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipway.automation.gate import Gate
from shipway.automation.triggers import Facts, Seen, Trigger, acted, due
from shipway.config import read_table
from shipway.errors import InvalidArgument
from shipway.monitoring.rules import sink_problem
from shipway.store.validation import check_key

if TYPE_CHECKING:
    from shipway.config import LoopSettings, Settings

MAX_REQUESTS = 10**9  # a canary step's min_requests beyond this could never pass
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
APPROVALS = ("auto", "manual")
STRATEGIES = ("canary", "blue-green", "direct")


@dataclass(frozen=True)
class Rollout:
    strategy: str = "canary"
    steps: tuple[int, ...] = (10, 50, 100)  # the candidate's share of traffic, step by step
    min_requests: int = 200
    max_error_rate: float = 0.01
    max_latency_ratio: float = 1.5
    max_metric_drop: float = 0.02
    min_minutes: float = 0.0
    max_wait_minutes: float = 60.0
    latency_floor_ms: float = 5.0  # p99 differences below this are noise, whatever the ratio
    max_prediction_drift: float | None = None  # None: drift between the two is only shown
    # a gate gain over the champion at least this wide, and significant (z >= WIDE_Z), lets
    # the canary start at its last step below 100: one step judges it, not every one
    wide_margin: float | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise InvalidArgument(f"rollout strategy is one of {', '.join(STRATEGIES)}")
        steps = list(self.steps)
        if self.strategy == "canary" and (
            not steps
            or steps != sorted(set(steps))
            or steps[-1] != 100
            or steps[0] <= 0
            or len(steps) < 2
        ):
            raise InvalidArgument(
                f"rollout steps {steps} must rise from above 0 to 100, e.g. [10, 50, 100]"
            )
        if (
            self.min_requests < 1
            or not 0 <= self.max_error_rate <= 1
            or self.max_latency_ratio <= 0
        ):
            raise InvalidArgument(
                "rollout needs min_requests ≥ 1, max_error_rate in [0, 1] and max_latency_ratio > 0"
            )
        if self.min_requests > MAX_REQUESTS:
            raise InvalidArgument(f"rollout min_requests is at most {MAX_REQUESTS:,}")
        negative = [
            name
            for name in (
                "max_metric_drop",
                "min_minutes",
                "max_wait_minutes",
                "latency_floor_ms",
                "max_prediction_drift",
                "wide_margin",
                "max_latency_ratio",
            )
            if getattr(self, name) is not None and not 0 <= getattr(self, name) < math.inf
        ]
        if negative:
            raise InvalidArgument(
                f"rollout {', '.join(negative)} must be a finite number, not negative"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rollout:
        """A rollout as shipway.toml writes it, checked where every table of it is."""
        return read_table(cls, data, "rollout", error=InvalidArgument)


@dataclass(frozen=True)
class Loop:
    deployment: str
    pipeline: str  # module:function or file.py:function
    params: dict[str, Any] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    gate: Gate | None = None  # None: the loop registers nothing as passed
    approval: str = "auto"
    rollout: Rollout = field(default_factory=Rollout)
    sinks: tuple[str, ...] = ()  # told of approvals wanted, failures and rollbacks
    # a training on its own thread still running after this is abandoned: the loop fails
    training_timeout_minutes: float = 180.0

    def has_trigger(self, kind: str) -> bool:
        return any(t.kind == kind for t in self.triggers)

    def __post_init__(self) -> None:
        if not 0 < self.training_timeout_minutes <= MAX_TIMEOUT_MINUTES:
            raise InvalidArgument(
                f"training_timeout_minutes is above 0 and at most {MAX_TIMEOUT_MINUTES:,} "
                f"(a week), not {self.training_timeout_minutes!r}"
            )

    @classmethod
    def from_settings(cls, deployment: str, settings: LoopSettings) -> Loop:
        module, colon, function = settings.pipeline.partition(":")
        if not colon or not module or not function:
            raise InvalidArgument(
                f"pipeline {settings.pipeline!r} is not module:function or file.py:function"
            )
        if settings.approval not in APPROVALS:
            raise InvalidArgument(f"approval is auto or manual, not {settings.approval!r}")

        for sink in settings.sinks:
            problem = sink_problem(sink)
            if problem:
                raise InvalidArgument(problem)
        triggers = tuple(Trigger.parse(t) for t in settings.triggers)
        if not triggers:
            raise InvalidArgument(
                'a loop needs at least one trigger, e.g. triggers = ["schedule:0 3 * * 1"]'
            )
        return cls(
            deployment,
            settings.pipeline,
            dict(settings.params),
            triggers,
            Gate.from_dict(dict(settings.gate)) if settings.gate else None,
            settings.approval,
            Rollout.from_dict(dict(settings.rollout)),
            tuple(settings.sinks),
            settings.training_timeout_minutes,
        )


def loops_from_settings(settings: Settings) -> dict[str, Loop]:
    """The ``[loops.*]`` of shipway.toml, each checked; a bad one names itself and the file."""
    out = {}
    for deployment, table in settings.loops.items():
        try:
            check_key(deployment, "deployment")  # the loop is its deployment's: one name
            out[deployment] = Loop.from_settings(deployment, table)
        except InvalidArgument as exc:
            where = f" in {settings.config_file}" if settings.config_file else ""
            raise InvalidArgument(f"[loops.{deployment}]{where}: {exc}") from None
    return out


__all__ = [
    "Facts",
    "Loop",
    "Rollout",
    "Seen",
    "Trigger",
    "acted",
    "due",
    "loops_from_settings",
]
