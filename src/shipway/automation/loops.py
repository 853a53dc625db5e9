"""Continuous-training loops as declared: ``[loops.DEPLOYMENT]`` in shipway.toml, checked when
loaded, and the decision of which triggers are due (pure functions of the loop, what it has
seen, and the facts of now), as the controller will take them.

A trigger starts the loop's pipeline once per event:

- ``schedule:CRON``: each time the schedule passes (``0 3 * * 1``: Mondays at 03:00 UTC);
- ``dataset:NAME``: a new version of the dataset;
- ``alert:RULE``: an alert of that rule on the deployment (one that stays open does not start
  it again);
- ``labels:N``: N new labelled rows of the deployment's traffic since the last training.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipway.automation.gate import Gate, refuse_mistyped, refuse_unknown
from shipway.errors import InvalidArgument
from shipway.monitoring.rules import sink_problem
from shipway.store.validation import check_key

if TYPE_CHECKING:
    from shipway.config import LoopSettings, Settings

TRIGGER_KINDS = ("schedule", "dataset", "alert", "labels")
MAX_LABELS = 10**12  # labels:N beyond this could never fire
MAX_REQUESTS = 10**9  # a canary step's min_requests beyond this could never pass
MAX_TIMEOUT_MINUTES = 7 * 24 * 60
APPROVALS = ("auto", "manual")
STRATEGIES = ("canary", "blue-green", "direct")


@dataclass(frozen=True)
class Trigger:
    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> Trigger:
        kind, colon, value = str(text).partition(":")
        if kind not in TRIGGER_KINDS:
            near = difflib.get_close_matches(kind, TRIGGER_KINDS, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InvalidArgument(
                f"unknown trigger {text!r}{hint}: use schedule:CRON, dataset:NAME, "
                "alert:RULE or labels:N"
            )
        value = value.strip()
        if not colon or not value:
            raise InvalidArgument(f"trigger {text!r} names no {kind}")
        if kind == "schedule":
            from croniter import croniter

            if not croniter.is_valid(value):
                raise InvalidArgument(
                    f"trigger {text!r}: {value!r} is not a cron schedule",
                    hint="five fields: minute hour day month weekday, e.g. 0 3 * * 1",
                )
        if kind == "labels" and not (
            value.isascii() and value.isdigit() and 0 < int(value) <= MAX_LABELS
        ):
            raise InvalidArgument(
                f"trigger {text!r}: labels:N takes a whole number of rows from 1 to {MAX_LABELS:,}"
            )
        return cls(kind, value)


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
        refuse_unknown(cls, data, "rollout")
        refuse_mistyped(cls, data, "rollout")
        values = dict(data)
        if "steps" in values:
            values["steps"] = tuple(values["steps"])
        return cls(**values)


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


@dataclass
class Seen:
    """What a loop has acted on, so each event starts it once (kept in the store)."""

    started_at: float  # when the loop was first seen: schedules count from here
    schedule_checked: float | None = None  # the last time its schedules were checked
    dataset_versions: dict[str, int] = field(default_factory=dict)
    alerts: set[int] = field(default_factory=set)
    labels_at_training: int = 0
    labels_until: float | None = None  # the newest label counted: later ones are new

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at,
            "schedule_checked": self.schedule_checked,
            "dataset_versions": dict(self.dataset_versions),
            "alerts": sorted(self.alerts),
            "labels_at_training": self.labels_at_training,
            "labels_until": self.labels_until,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seen:
        return cls(
            float(data["started_at"]),
            data.get("schedule_checked"),
            {str(k): int(v) for k, v in data.get("dataset_versions", {}).items()},
            {int(a) for a in data.get("alerts", [])},
            int(data.get("labels_at_training", 0)),
            data.get("labels_until"),
        )

    @classmethod
    def starting(cls, facts: Facts) -> Seen:
        """A new loop: what exists when it starts is not news (a dataset's current version,
        an alert already open, the labels already there); what comes after is."""
        return acted(cls(started_at=facts.now), facts)


@dataclass
class Facts:
    """The state of the world a controller round sees."""

    now: float
    dataset_versions: dict[str, int] = field(default_factory=dict)  # name -> newest version
    open_alerts: dict[str, list[int]] = field(default_factory=dict)  # rule -> alert ids
    labelled_rows: int = 0  # counted up from the loop's start (old labels expire, counts stay)
    newest_label: float | None = None  # when the newest label arrived


def due(loop: Loop, seen: Seen, facts: Facts) -> list[str]:
    """The triggers of ``loop`` that fire now, each said as why the pipeline starts."""
    from croniter import croniter

    reasons = []
    for trigger in loop.triggers:
        if trigger.kind == "schedule":
            since = seen.schedule_checked or seen.started_at
            passed = croniter(trigger.value, since).get_next(float)
            if passed <= facts.now:
                reasons.append(f"{trigger}: the schedule passed at {passed:.0f}")
        elif trigger.kind == "dataset":
            newest = facts.dataset_versions.get(trigger.value)
            known = seen.dataset_versions.get(trigger.value)
            if newest is not None and (known is None or newest > known):
                reasons.append(f"{trigger}: version {newest} is new")
        elif trigger.kind == "alert":
            fresh = [a for a in facts.open_alerts.get(trigger.value, []) if a not in seen.alerts]
            if fresh:
                reasons.append(f"{trigger}: alert {min(fresh)} fired")
        elif trigger.kind == "labels":
            new = facts.labelled_rows - seen.labels_at_training
            if new >= int(trigger.value):
                reasons.append(f"{trigger}: {new} new labelled rows")
    return reasons


def acted(seen: Seen, facts: Facts) -> Seen:
    """What the loop has seen once it started on ``facts``: no event starts it twice."""
    seen.schedule_checked = facts.now
    seen.dataset_versions.update(facts.dataset_versions)
    seen.alerts |= {a for ids in facts.open_alerts.values() for a in ids}
    seen.labels_at_training = facts.labelled_rows
    if facts.newest_label is not None:
        seen.labels_until = facts.newest_label
    return seen
