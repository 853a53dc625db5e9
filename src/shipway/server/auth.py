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
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request, Response

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
SESSION_HOURS = 12
CSRF_HEADER = "x-shipway-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SSO_PREFIX = "sso."  # a session cookie holding a signed single sign-on, not a token


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
        if not sent.isascii() or not hmac.compare_digest(sent, csrf_token(cookie)):
            raise Forbidden(
                "this request carries the UI's session cookie but not its CSRF token",
                hint=f"send the token GET /api/v1/me gives as the {CSRF_HEADER} header",
            )
    return cookie


def secure_request(request: Request) -> bool:
    """Whether the page came over HTTPS (directly, or through a proxy that says so): its
    cookies are then Secure."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_session(request: Request, response: Response, value: str | None) -> None:
    """The UI's session cookie, set to ``value`` (None: deleted): HttpOnly, SameSite=Strict,
    Secure where the page came over HTTPS, for the session's hours."""
    secure = secure_request(request)
    if value is None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, secure=secure, samesite="strict"
        )
        return
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )


def authenticated(request: Request) -> bool:
    """Whether this server asks who calls: once a token exists or single sign-on is set."""
    return bool(request.app.state.tokens.any_active() or request.app.state.sso is not None)


def identify(request: Request, token: str) -> Principal | None:
    """Who a presented token (or the UI's session) names, or None."""
    if token.startswith(SSO_PREFIX):
        sso = request.app.state.sso
        found: Principal | None = sso.principal(token) if sso is not None else None
        return found
    info = request.app.state.tokens.verify(token)
    return None if info is None else Principal(info.user, info.role)


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})


def check_open_host(request: Request) -> None:
    """An open server (no token, no single sign-on) answers a browser only under a loopback
    name or an IP address: a page that rebinds its own DNS name to 127.0.0.1 is same-origin to
    the browser, and would otherwise act as the admin an open server takes everyone for.
    Browsers say they are browsers (``Sec-Fetch-Mode``); programs are not asked."""
    if "sec-fetch-mode" not in request.headers:
        return
    host = request.headers.get("host", "").rsplit(":", 1)[0].lower()
    if host.startswith("["):
        host = host if host.endswith("]") else host + "]"
    if host in LOOPBACK_NAMES or _is_ip_address(host.strip("[]")):
        return
    raise Forbidden(
        f"this server has no token, so it answers only to localhost or an IP address, not {host!r}",
        hint="create a token (`shipway tokens create`) to serve it under a name",
    )


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def requires(role: str) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        if not authenticated(request):
            check_open_host(request)
            return Principal(request.app.state.tracking.user, "admin")
        token = presented_token(request)
        if token is None:
            raise Unauthenticated(
                "this server needs a token",
                hint="send Authorization: Bearer <token> (set SHIPWAY_TOKEN), or sign in to the UI",
            )
        who = identify(request, token)
        if who is None:
            raise Unauthenticated("the token or sign-in is unknown, wrong, expired or revoked")
        if not role_allows(who.role, role):
            article = "an" if who.role[0] in "aeiou" else "a"
            raise Forbidden(f"{who.user} is {article} {who.role}; this needs the {role} role")
        return who

    check.role = role  # type: ignore[attr-defined]  # read into the OpenAPI document
    return check
