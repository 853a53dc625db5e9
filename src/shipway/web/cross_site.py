"""Refuse a request that changes something when a browser says another site sent it.

A page on any site can make a visitor's browser send a form or a simple ``fetch`` to a server
the visitor can reach (a server on loopback with no token included), and the browser adds the
UI's cookie. Browsers name the sender: ``Sec-Fetch-Site`` and ``Origin``. A request that
changes anything is refused with a 403 when they say it came from another origin (or from an
opaque one, such as a sandboxed artifact preview). Programs (the Python client, curl) send
neither header, so they are not affected.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from shipway.web.errors import error_body

SAFE_METHODS = frozenset({b"GET", b"HEAD", b"OPTIONS"})
ALLOWED_SITES = frozenset({b"same-origin", b"none"})  # "none": typed or bookmarked by the user


def cross_site(scope: Scope) -> str | None:
    """Why this request looks sent by another site, or None."""
    if scope["method"].encode() in SAFE_METHODS:
        return None
    headers = dict(scope.get("headers") or [])
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in ALLOWED_SITES:
        return f"the browser says another site ({site.decode(errors='replace')}) sent it"
    origin = headers.get(b"origin")
    if origin is None:
        return None
    host = headers.get(b"host", b"").decode(errors="replace").lower()
    sender = urlsplit(origin.decode(errors="replace").lower())
    if origin == b"null" or sender.netloc != host:
        return f"it comes from {origin.decode(errors='replace')}, not from this server's pages"
    return None


class CrossSiteGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reason = cross_site(scope) if scope["type"] == "http" else None
        if reason is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            error_body("FORBIDDEN", f"refused a cross-site request: {reason}")
        ).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
