"""``/api/v1/deployments``: what serves, how traffic splits, and every change's audit.

Changing a deployment changes what production traffic sees, so it needs the approver role;
reading needs a viewer (a model server's own token reads its routing here)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, one, plain, session
from shipway.server.schemas import BatchingIn, DeployIn, FollowIn, ReasonIn, WeightIn
from shipway.types import Deployment

router = APIRouter(prefix="/deployments", tags=["deployments"])


@router.get("")
def list_deployments(
    request: Request,
    names: list[str] | None = Query(None, description="only these, as {name: revision}"),
    who: Principal = Depends(requires("viewer")),
) -> Any:
    """Every deployment; with ``names``, only their revisions (what model servers poll)."""
    deployments = session(request, who).deployments
    if names:
        return deployments.revisions(names)
    return plain(deployments.list())


@router.get("/{name}", **answers(Deployment))
def get_deployment(
    name: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    return one(session(request, who).deployments.get(name))


@router.put("/{name}", **answers(Deployment))
def deploy(
    name: str, body: DeployIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    """Serve a version: alone (direct) or as the candidate (canary, shadow, ab, blue-green)."""
    found = session(request, who).deployments.deploy(
        name,
        model=body.model,
        version=body.version,
        strategy=body.strategy,
        weight=body.weight,
        sticky_key=body.sticky_key,
        reason=body.reason,
    )
    return one(found)


@router.post("/{name}/follow", **answers(Deployment))
def follow(
    name: str, body: FollowIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    """The stable version follows ``models:/MODEL@ALIAS`` (a stage or an alias)."""
    found = session(request, who).deployments.follow(name, body.model, body.alias)
    return one(found)


@router.post("/{name}/weight", **answers(Deployment))
def set_weight(
    name: str, body: WeightIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    found = session(request, who).deployments.set_weight(name, body.weight, body.reason)
    return one(found)


@router.post("/{name}/batching", **answers(Deployment))
def set_batching(
    name: str, body: BatchingIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    found = session(request, who).deployments.set_batching(
        name, body.max_batch, body.max_wait_ms, body.reason
    )
    return one(found)


@router.post("/{name}/promote", **answers(Deployment))
def promote(
    name: str, body: ReasonIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    return one(session(request, who).deployments.promote(name, body.reason))


@router.post("/{name}/rollback", **answers(Deployment))
def rollback(
    name: str, body: ReasonIn, request: Request, who: Principal = Depends(requires("approver"))
) -> dict[str, Any]:
    return one(session(request, who).deployments.rollback(name, body.reason))


@router.get("/{name}/history")
def history(
    name: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return many(session(request, who).deployments.history(name))
