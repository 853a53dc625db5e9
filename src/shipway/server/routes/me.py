"""``/api/v1/me``: who the caller is, and what the UI needs to act as them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from shipway.server.auth import SESSION_COOKIE, Principal, authenticated, csrf_token, requires

router = APIRouter(tags=["tokens"])


class Caller(BaseModel):
    user: str
    role: str
    open: bool
    csrf: str | None


@router.get("/me")
def me(request: Request, who: Principal = Depends(requires("viewer"))) -> Caller:
    """The caller's user and role; ``open`` when the server has no token (everyone is admin);
    ``csrf``: the token a signed-in page sends with every change as ``x-shipway-csrf``."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return Caller(
        user=who.user,
        role=who.role,
        open=not authenticated(request),
        csrf=csrf_token(cookie) if cookie else None,
    )
