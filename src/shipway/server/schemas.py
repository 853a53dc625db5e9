"""Request bodies of the REST API (responses are the domain records as JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipway.types import DatasetVersion, ModelVersion, RegisteredModel, TokenInfo


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExperimentIn(Strict):
    name: str = Field(min_length=1, max_length=500)
    tags: dict[str, str] = Field(default_factory=dict)


class RunIn(Strict):
    experiment: str | None = None
    name: str | None = Field(default=None, max_length=250)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)
    parent_run_id: str | None = None


class RunEnd(Strict):
    status: str = "FINISHED"


class MetricIn(Strict):
    key: str
    value: float
    step: int = Field(default=0, ge=-(2**63), le=2**63 - 1)
    timestamp: float | None = None


class LogBatch(Strict):
    metrics: list[MetricIn] = Field(default_factory=list, max_length=10_000)
    params: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, Any] = Field(default_factory=dict)


class InputIn(Strict):
    name: str = Field(min_length=1, max_length=250)
    digest: str = Field(min_length=1, max_length=128)
    role: str = Field(default="train", min_length=1, max_length=64)
    rows: int | None = Field(default=None, ge=0, le=2**63 - 1)
    source: str | None = None


class InputsIn(Strict):
    inputs: list[InputIn] = Field(max_length=1000)


class SearchIn(Strict):
    experiments: list[str] = Field(default_factory=list)
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    # strict: JSON's false is no count of runs
    max_results: int = Field(default=1000, ge=1, le=100_000, strict=True)
    offset: int = Field(
        default=0, ge=0, le=10_000_000, strict=True, description="runs to skip: a page's start"
    )
    columns: list[str] | None = Field(
        default=None,
        max_length=1000,
        description="only these of each run's values, as metrics.KEY, params.KEY or tags.KEY "
        "(default: all of them)",
    )


class VersionIn(Strict):
    source: str = Field(description="a run id or runs:/RUN_ID/PATH")
    description: str = ""


class StageIn(Strict):
    stage: str
    reason: str = ""


class ApprovalIn(Strict):
    comment: str = ""


class AliasIn(Strict):
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str = ""


class ReasonIn(Strict):
    reason: str = ""


class PolicyIn(Strict):
    required_approvals: int = Field(ge=0, le=100)
    two_person_rule: bool = False
    reason: str = ""
    # strategies an unapproved version may run as a candidate in; null keeps the stored ones
    unapproved_strategies: tuple[str, ...] | None = Field(default=None, max_length=4)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this shape."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        400: "invalid request: malformed JSON, wrong types, unknown fields, a bad filter",
        401: "a token is needed, or the one sent is unknown or revoked",
        403: "the token's role, or the model's policy, does not allow this",
        404: "no such experiment, run, model, version or alias",
        405: "method not allowed",
        409: "conflicts with what is stored (a param logged twice, a name taken)",
        413: "the request body is too large",
        503: "a store is unavailable",
    }.items()
}


class DeployIn(Strict):
    model: str = Field(min_length=1, max_length=250)
    version: int = Field(ge=1, le=2**31 - 1)
    strategy: str = Field(default="direct", max_length=32)
    weight: float | None = Field(default=None, ge=0, le=100)
    sticky_key: str | None = Field(default=None, max_length=250)
    reason: str = Field(default="", max_length=8000)


class FollowIn(Strict):
    model: str = Field(min_length=1, max_length=250)
    alias: str = Field(min_length=1, max_length=250)


class WeightIn(Strict):
    weight: float = Field(ge=0, le=100)
    reason: str = Field(default="", max_length=8000)


class BatchingIn(Strict):
    max_batch: int = Field(ge=0, le=100_000)
    max_wait_ms: float = Field(default=2.0, ge=0, le=60_000)
    reason: str = Field(default="", max_length=8000)


class DatasetVersionIn(Strict):
    """A version made of objects already uploaded to ``/datasets/objects``."""

    kind: str = Field(pattern="^(frame|file|directory)$")
    format: str = Field(min_length=1, max_length=32)
    object_digest: str = Field(min_length=8, max_length=128)  # the stored bytes' hash
    digest: str = Field(min_length=8, max_length=128)  # the version's content hash
    source: str | None = Field(default=None, max_length=4000)
    description: str = Field(default="", max_length=8000)


class GroundTruthIn(Strict):
    records: list[dict[str, Any]] = Field(min_length=1, max_length=1_000_000)


class MonitorIn(Strict):
    window: str = Field(default="day", max_length=32)
    label: str | None = Field(default=None, max_length=250)
    rules: list[dict[str, Any]] | None = Field(default=None, max_length=1000)
    replay: bool = False
    reference: str | None = Field(default=None, max_length=500)
    sensitive: list[str] | None = Field(default=None, max_length=100)
    start: str | None = Field(default=None, alias="from", max_length=64)
    end: str | None = Field(default=None, alias="to", max_length=64)
    source: str = Field(default="auto", max_length=16)


class TokenIn(Strict):
    user: str = Field(min_length=1, max_length=250)
    role: str = Field(min_length=1, max_length=32)


class VerifyIn(Strict):
    token: str = Field(min_length=1, max_length=500)


# -- answers that are not one record -------------------------------------------------------
class ModelWithVersions(BaseModel):
    model: RegisteredModel
    versions: list[ModelVersion]


class DatasetSummary(BaseModel):
    name: str
    versions: int
    updated_at: float


class StoredObject(BaseModel):
    digest: str
    size: int


class AddedVersion(BaseModel):
    version: DatasetVersion
    created: bool  # False: the same content was stored before, under this version


class RunUsing(BaseModel):
    run_id: str
    role: str


class StoredSegment(BaseModel):
    key: str
    size: int


class StoredKey(BaseModel):
    key: str


class CreatedToken(BaseModel):
    token: str  # shown once: the store keeps only its hash
    info: TokenInfo


class VerifiedToken(BaseModel):
    info: TokenInfo | None  # None: no such token, or revoked


class TokensRequired(BaseModel):
    required: bool


class Accepted(BaseModel):
    accepted: int


class ExperimentWithRuns(BaseModel):
    experiment_id: str
    name: str
    created_at: float
    tags: dict[str, str]
    runs: int


class Readiness(BaseModel):
    status: str  # ready or not ready
    checks: dict[str, str]  # per store: ok, or what failed


class Environment(BaseModel):
    """A run's environment, as captured at its start."""

    python: str
    executable_name: str
    platform: str
    packages: dict[str, str]  # distribution name -> version
    tags: dict[str, str]


class ManifestFile(BaseModel):
    digest: str
    size: int
