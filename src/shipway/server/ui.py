"""The UI's page and assets, and signing in and out: a token given once becomes an HttpOnly
session cookie, so the page's script never holds it and it never appears in a URL."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

import shipway.ui
from shipway.errors import Unauthenticated
from shipway.server.auth import (
    SESSION_COOKIE,
    authenticated,
    check_open_host,
    csrf_token,
    identify,
    set_session,
)

STATIC = Path(shipway.ui.__file__).parent / "static"
_IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)


def _content_security_policy() -> str:
    """Scripts only from this server (and the page's import map, by its hash); nothing framed
    from elsewhere; the page framed by nobody."""
    index = (STATIC / "index.html").read_text()
    found = _IMPORT_MAP.search(index)
    assert found is not None, "index.html declares its import map"
    digest = base64.b64encode(hashlib.sha256(found.group(1).encode()).digest()).decode()
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'sha256-{digest}'",
            "style-src 'self' 'unsafe-inline'",  # the charts set element styles
            "img-src 'self' blob: data:",
            "frame-src 'self' blob:",
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


PAGE_HEADERS = {
    "content-security-policy": _content_security_policy(),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=500)


router = APIRouter(include_in_schema=False)


@router.get("/")
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


@router.get("/ui/session")
def current_session(request: Request) -> dict[str, Any]:
    """Who the page is signed in as (``user`` null when nobody is), with the CSRF token its
    changes carry, and the single sign-on's name where the server has one; an open server
    (no token, no single sign-on) signs everyone in as admin."""
    sso = request.app.state.sso
    out: dict[str, Any] = {"sso": sso.settings.name if sso is not None else None}
    if not authenticated(request):
        check_open_host(request)
        user = request.app.state.tracking.user
        return {**out, "user": user, "role": "admin", "open": True, "csrf": None}
    cookie = request.cookies.get(SESSION_COOKIE)
    who = identify(request, cookie) if cookie else None
    if cookie is None or who is None:
        return {**out, "user": None, "role": None, "open": False, "csrf": None}
    return {**out, "user": who.user, "role": who.role, "open": False, "csrf": csrf_token(cookie)}


@router.post("/ui/session")
def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
    """Check the token and keep it in the session cookie; the answer says who signed in."""
    info = request.app.state.tokens.verify(body.token.strip())
    if info is None:
        raise Unauthenticated(
            "the token is unknown, wrong or revoked",
            hint="ask an admin for one: shipway tokens create NAME --role viewer",
        )
    set_session(request, response, body.token.strip())
    return {"user": info.user, "role": info.role}


@router.delete("/ui/session", status_code=204)
def sign_out(request: Request, response: Response) -> None:
    set_session(request, response, None)


def install(app: FastAPI) -> None:
    """Serve the UI at ``/`` and its assets at ``/ui/static``."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
