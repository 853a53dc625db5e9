"""``/api/v1/tokens``: API tokens, managed by an admin; and the checks model servers that run
through this server make of their callers' tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, plain, session
from shipway.server.schemas import CreatedToken, TokenIn, TokensRequired, VerifiedToken, VerifyIn
from shipway.types import TokenInfo

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.post("", status_code=201, **answers(CreatedToken, 201))
def create_token(
    body: TokenIn, request: Request, who: Principal = Depends(requires("admin"))
) -> dict[str, Any]:
    """A new token; the answer is the only time its secret is shown."""
    token, info = session(request, who).tokens.create(body.user, body.role)
    return {"token": token, "info": plain(info)}


@router.get("", **answers(list[TokenInfo]))
def list_tokens(request: Request, who: Principal = Depends(requires("admin"))) -> list[Any]:
    return many(session(request, who).tokens.list())


@router.delete("/{token_id}", status_code=204)
def revoke_token(
    token_id: str, request: Request, who: Principal = Depends(requires("admin"))
) -> None:
    session(request, who).tokens.revoke(token_id)


@router.post("/verify", **answers(VerifiedToken))
def verify_token(
    body: VerifyIn, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    """Whose a presented token is (null when unknown, wrong or revoked): a model server that
    runs through this server checks its callers so."""
    return {"info": plain(session(request, who).tokens.verify(body.token))}


@router.get("/required", **answers(TokensRequired))
def tokens_required(
    request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    """Whether any token is active, so that model servers ask their callers for one."""
    return {"required": session(request, who).tokens.any_active()}
