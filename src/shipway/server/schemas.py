"""Request bodies of the REST API (responses are the domain records as JSON)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    max_results: int = Field(default=1000, ge=1, le=100_000)


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
