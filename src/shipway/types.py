"""Plain domain records, shared by every layer. No I/O here."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar


class RunStatus(StrEnum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"


class Stage(StrEnum):
    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Experiment:
    experiment_id: str
    name: str
    created_at: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Metric:
    key: str
    value: float
    step: int = 0
    timestamp: float = 0.0


@dataclass(frozen=True)
class MetricBucket:
    """A run of consecutive steps of one metric, drawn as one point: a chart of a long
    history gets a fixed number of these instead of every step, with the extremes kept."""

    step: int  # the bucket's first step
    last_step: int
    value: float  # the mean over the bucket
    min: float
    max: float
    count: int


@dataclass(frozen=True)
class DatasetInput:
    name: str
    digest: str
    role: str
    rows: int | None = None
    source: str | None = None


@dataclass(frozen=True)
class Run:
    run_id: str
    experiment_id: str
    name: str
    status: RunStatus
    start_time: float
    end_time: float | None
    user: str
    parent_run_id: str | None
    artifact_uri: str
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: tuple[DatasetInput, ...] = ()


@dataclass(frozen=True)
class ArtifactInfo:
    path: str
    size: int
    digest: str


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    created_at: float
    description: str = ""
    required_approvals: int = 0
    two_person_rule: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    # rollout strategies that may run a version that has not passed the policy
    unapproved_strategies: tuple[str, ...] = ("shadow", "blue-green")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: int
    stage: Stage
    source: str
    run_id: str | None
    created_at: float
    created_by: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    lineage: dict[str, Any] = field(default_factory=dict)
    # Every file of the model (the run's artifact path -> hash) as it was registered: loading
    # checks these, so what a version is cannot change after registration.
    files: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@dataclass(frozen=True)
class Approval:
    name: str
    version: int
    user: str
    created_at: float
    comment: str = ""


@dataclass(frozen=True)
class AuditEvent:
    event_id: int
    timestamp: float
    actor: str
    entity: str
    action: str
    from_value: str | None
    to_value: str | None
    reason: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetVersion:
    name: str
    version: int
    digest: str
    kind: str  # frame, file or directory
    format: str
    size: int
    files: int
    rows: int | None
    object_key: str
    source: str | None
    created_at: float
    created_by: str
    description: str = ""
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None

    @property
    def uri(self) -> str:
        return f"datasets:/{self.name}/{self.version}"


class Strategy(StrEnum):
    """How a deployment splits traffic between its stable and candidate versions."""

    DIRECT = "direct"  # only the stable version answers
    CANARY = "canary"  # a random share of requests goes to the candidate
    SHADOW = "shadow"  # every request goes to both; only the stable version's answer is returned
    AB = "ab"  # a hash of the sticky key picks the variant, so a user always sees the same one
    BLUE_GREEN = "blue-green"  # the candidate is loaded and warm, and gets traffic on promote


@dataclass(frozen=True)
class Deployment:
    name: str
    model: str
    stable: int | None  # the version that answers (blue)
    strategy: Strategy = Strategy.DIRECT
    candidate: int | None = None  # the canary, shadow, B variant or green version
    weight: float = 0.0  # percent of traffic to the candidate (canary, ab)
    sticky_key: str | None = None  # the input field whose hash routes A/B requests
    follow: str | None = None  # a stage or alias the stable version follows (models:/m@production)
    previous: int | None = None  # the stable version before the last promotion, for rollback
    max_batch: int = 0  # micro-batching: most rows one model call takes (0: off)
    max_wait_ms: float = 2.0  # micro-batching: most a request waits for others to join it
    revision: int = 1  # grows with every change: servers reload when it moves
    updated_at: float = 0.0
    updated_by: str = ""


@dataclass(frozen=True)
class Alert:
    alert_id: int
    rule: str
    deployment: str
    severity: str
    status: str  # open, acknowledged, resolved
    metric: str
    value: float | None
    threshold: float
    window: str
    evidence: dict[str, Any]
    opened_at: float
    updated_at: float
    resolved_at: float | None = None
    acknowledged_by: str | None = None
    fired_value: float | None = None  # the value and window that fired it (value, window:
    fired_window: str | None = None  # the latest window judged while it stayed open)


@dataclass
class WindowReport:
    """One window of a deployment's traffic, judged against its reference."""

    window: str
    rows: int
    versions: list[int]
    label_coverage: float
    data_drift: dict[str, Any]
    prediction_drift: dict[str, Any]
    quality: dict[str, Any]
    realised: dict[str, Any] | None
    estimated: dict[str, Any] | None = None
    target_drift: dict[str, Any] | None = None  # the labels that arrived vs the reference's
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:

        return dataclasses.asdict(self)


@dataclass(frozen=True)
class TokenInfo:
    """An API token as stored: never its secret."""

    token_id: str
    user: str
    role: str
    created_at: float
    revoked_at: float | None = None


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_number(value: float) -> float | str:
    """A float as JSON can carry it: NaN and the infinities by name, as MLflow's API does."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def _revived(value: Any, hint: Any) -> Any:
    """Floats that JSON carried by name (``json_number``) as floats again."""
    import typing

    if isinstance(value, str) and value in _NON_FINITE and float in (hint, *typing.get_args(hint)):
        return _NON_FINITE[value]
    if isinstance(value, dict) and typing.get_origin(hint) is dict:
        _, item = typing.get_args(hint)
        return {k: _revived(v, item) for k, v in value.items()}
    return value


R = TypeVar("R")  # a record type


def from_plain(cls: type[R], data: Any) -> R:
    """Rebuild a record from its JSON form (the inverse of the server's ``plain``)."""
    import typing

    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value, hint = data[f.name], hints[f.name]
        if isinstance(hint, type) and issubclass(hint, StrEnum):
            value = hint(value)
        elif typing.get_origin(hint) is tuple:
            (item, *_) = typing.get_args(hint)
            value = tuple(
                from_plain(item, v)
                if isinstance(item, type) and dataclasses.is_dataclass(item)
                else v
                for v in value
            )
        values[f.name] = _revived(value, hint)
    return cls(**values)
