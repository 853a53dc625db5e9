"""``/api/v1/models``: registered models, versions, stages, approvals, aliases, audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from shipway.errors import InvalidArgument
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, one, plain, registry
from shipway.server.schemas import (
    AliasIn,
    ApprovalIn,
    ModelWithVersions,
    PolicyIn,
    ReasonIn,
    StageIn,
    VersionIn,
)
from shipway.types import Approval, ModelVersion, RegisteredModel

router = APIRouter(prefix="/models", tags=["registry"])
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_models(
    request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return [
        {"model": plain(m), "versions": n, "stages": s}
        for m, n, s in registry(request, who).list_models()
    ]


@router.get("/{name}", **answers(ModelWithVersions))
def get_model(
    name: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    reg = registry(request, who)
    return {"model": plain(reg.get_model(name)), "versions": plain(reg.list_versions(name))}


@router.post("/{name}/versions", status_code=201, **answers(ModelVersion, 201))
def register(
    name: str, body: VersionIn, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    return one(registry(request, who).register(body.source, name, body.description))


@router.get("/{name}/versions/{version}", **answers(ModelVersion))
def get_version(
    name: str, version: Version, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    return one(registry(request, who).get_version(name, version))


@router.post("/{name}/versions/{version}/stage", **answers(ModelVersion))
def transition(
    name: str,
    version: Version,
    body: StageIn,
    request: Request,
    who: Principal = Depends(requires("approver")),
) -> dict[str, Any]:
    return one(registry(request, who).promote(name, version, body.stage, body.reason))


@router.post("/{name}/versions/{version}/approvals", status_code=201, **answers(Approval, 201))
def approve(
    name: str,
    version: Version,
    body: ApprovalIn,
    request: Request,
    who: Principal = Depends(requires("approver")),
) -> dict[str, Any]:
    return one(registry(request, who).approve(name, version, body.comment))


@router.get("/{name}/versions/{version}/approvals")
def approvals(
    name: str, version: Version, request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return many(registry(request, who).approvals(name, version))


@router.get("/{name}/aliases/{alias}", **answers(ModelVersion))
def resolve_alias(
    name: str, alias: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    """The version an alias, a stage (``production``) or ``latest`` points at."""

    if "/" in alias or "@" in alias or not alias.strip():
        raise InvalidArgument(f"{alias!r} is not an alias, a stage or 'latest'")
    return one(registry(request, who).resolve(f"models:/{name}@{alias}"))


@router.put("/{name}/aliases/{alias}", **answers(ModelVersion))
def set_alias(
    name: str,
    alias: str,
    body: AliasIn,
    request: Request,
    who: Principal = Depends(requires("approver")),
) -> dict[str, Any]:
    return one(registry(request, who).set_alias(name, alias, body.version, body.reason))


@router.delete("/{name}/aliases/{alias}", status_code=204)
def delete_alias(
    name: str,
    alias: str,
    request: Request,
    reason: str = Query("", max_length=2000, description="Why, for the audit log."),
    who: Principal = Depends(requires("approver")),
) -> None:
    registry(request, who).delete_alias(name, alias, reason)


@router.post("/{name}/rollback", **answers(ModelVersion))
def rollback(
    name: str, body: ReasonIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    return one(registry(request, who).rollback(name, body.reason))


@router.put("/{name}/policy", **answers(RegisteredModel))
def set_policy(
    name: str, body: PolicyIn, request: Request, who: Principal = Depends(requires("admin"))
) -> dict[str, Any]:
    reg = registry(request, who)
    return one(
        reg.set_policy(
            name,
            required_approvals=body.required_approvals,
            two_person_rule=body.two_person_rule,
            reason=body.reason,
            unapproved_strategies=body.unapproved_strategies,
        )
    )


@router.get("/{name}/history")
def history(
    name: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return many(registry(request, who).history(name))
