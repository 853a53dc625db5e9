"""``/api/v1/models``: registered models, versions, stages, approvals, aliases, audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from shipway.server.routes.common import plain, registry
from shipway.server.schemas import AliasIn, ApprovalIn, PolicyIn, ReasonIn, StageIn, VersionIn

router = APIRouter(prefix="/models", tags=["registry"])


@router.get("")
def list_models(request: Request) -> list[dict[str, Any]]:
    return [
        {"model": plain(m), "versions": n, "stages": s}
        for m, n, s in registry(request).list_models()
    ]


@router.get("/{name}")
def get_model(name: str, request: Request) -> dict[str, Any]:
    reg = registry(request)
    return {"model": plain(reg.get_model(name)), "versions": plain(reg.list_versions(name))}


@router.post("/{name}/versions", status_code=201)
def register(name: str, body: VersionIn, request: Request) -> dict[str, Any]:
    return plain(registry(request).register(body.source, name, body.description))


@router.get("/{name}/versions/{version}")
def get_version(name: str, version: int, request: Request) -> dict[str, Any]:
    return plain(registry(request).get_version(name, version))


@router.post("/{name}/versions/{version}/stage")
def transition(name: str, version: int, body: StageIn, request: Request) -> dict[str, Any]:
    return plain(registry(request).promote(name, version, body.stage, body.reason))


@router.post("/{name}/versions/{version}/approvals", status_code=201)
def approve(name: str, version: int, body: ApprovalIn, request: Request) -> dict[str, Any]:
    return plain(registry(request).approve(name, version, body.comment))


@router.put("/{name}/aliases/{alias}")
def set_alias(name: str, alias: str, body: AliasIn, request: Request) -> dict[str, Any]:
    return plain(registry(request).set_alias(name, alias, body.version, body.reason))


@router.delete("/{name}/aliases/{alias}", status_code=204)
def delete_alias(name: str, alias: str, request: Request) -> None:
    registry(request).delete_alias(name, alias)


@router.post("/{name}/rollback")
def rollback(name: str, body: ReasonIn, request: Request) -> dict[str, Any]:
    return plain(registry(request).rollback(name, body.reason))


@router.put("/{name}/policy")
def set_policy(name: str, body: PolicyIn, request: Request) -> dict[str, Any]:
    reg = registry(request)
    return plain(
        reg.set_policy(
            name,
            required_approvals=body.required_approvals,
            two_person_rule=body.two_person_rule,
            reason=body.reason,
        )
    )


@router.get("/{name}/history")
def history(name: str, request: Request) -> list[dict[str, Any]]:
    return plain(registry(request).history(name))
