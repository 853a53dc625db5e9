"""``/api/v1/me``: who the caller is, and what the UI needs to act as them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from shipway.server.auth import SESSION_COOKIE, Principal, csrf_token, requires

router = APIRouter(tags=["tokens"])


@router.get("/me")
def me(request: Request, who: Principal = Depends(requires("viewer"))) -> dict[str, Any]:
    """The caller's user and role; ``open`` when the server has no token (everyone is admin);
    ``csrf``: the token a signed-in page sends with every change as ``x-shipway-csrf``."""
    cookie = request.cookies.get(SESSION_COOKIE)
    return {
        "user": who.user,
        "role": who.role,
        "open": not request.app.state.tokens.any_active(),
        "csrf": csrf_token(cookie) if cookie else None,
    }
