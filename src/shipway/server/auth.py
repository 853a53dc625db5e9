"""Bearer tokens and roles. With no active token the server is open, and `shipway server`
then binds to loopback only; once a token exists, every endpoint needs one with a role that
allows it: viewer (read) < editor (log runs, register models) < approver (approve, promote)
< admin (policies).

A browser presents its token in the web UI's session cookie instead of a header: the cookie
is HttpOnly, so the page's script never holds the token, and a request that changes anything
must also carry the session's CSRF token in ``x-shipway-csrf``, which a page of another site
cannot read."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from shipway.errors import Forbidden, Unauthenticated
from shipway.store.token_store import role_allows

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Forbidden",
    "Principal",
    "Unauthenticated",
    "csrf_token",
    "requires",
]

SESSION_COOKIE = "shipway_session"
CSRF_HEADER = "x-shipway-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    user: str
    role: str


def csrf_token(token: str) -> str:
    """The CSRF token of a session: derived from its token, so any server worker can check it
    and nothing is kept per session."""
    return hashlib.blake2b(token.encode(), key=b"shipway-csrf", digest_size=16).hexdigest()


def presented_token(request: Request) -> str | None:
    """The token the caller presents: the bearer header, else the UI's session cookie (with
    its CSRF token on a request that changes anything)."""
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "the Authorization header is not a bearer token",
                hint="send Authorization: Bearer <token> (set SHIPWAY_TOKEN)",
            )
        return token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, csrf_token(cookie)):
            raise Forbidden(
                "this request carries the UI's session cookie but not its CSRF token",
                hint=f"send the token GET /api/v1/me gives as the {CSRF_HEADER} header",
            )
    return cookie


def requires(role: str) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        tokens = request.app.state.tokens
        if not tokens.any_active():
            return Principal(request.app.state.tracking.user, "admin")
        token = presented_token(request)
        if token is None:
            raise Unauthenticated(
                "this server needs a token",
                hint="send Authorization: Bearer <token> (set SHIPWAY_TOKEN), or sign in to the UI",
            )
        info = tokens.verify(token)
        if info is None:
            raise Unauthenticated("the token is unknown, wrong or revoked")
        if not role_allows(info.role, role):
            article = "an" if info.role[0] in "aeiou" else "a"
            raise Forbidden(f"{info.user} is {article} {info.role}; this needs the {role} role")
        return Principal(info.user, info.role)

    check.role = role  # type: ignore[attr-defined]  # read into the OpenAPI document
    return check
