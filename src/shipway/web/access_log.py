"""An access log in the combined format web servers write (Apache's and nginx's default), so
the usual log tools read it: one line per request, once its answer is sent::

    127.0.0.1 - - [01/Dec/2026:10:00:00 +0000] "POST /v2/models/churn/infer HTTP/1.1" 200 181 "-" "python-requests/2.32"
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shipway.access")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _ensure_handler() -> None:
    """Lines go to stderr as they are, unless the application configured the logger."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class AccessLog:
    """ASGI middleware that writes each HTTP request's combined-format line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        _ensure_handler()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        seen: dict[str, Any] = {"status": 500, "bytes": 0}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body":
                seen["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            log.info(combined_line(scope, seen["status"], seen["bytes"]))


def combined_line(scope: Scope, status: int, size: int, now: float | None = None) -> str:
    """One request in the combined log format."""
    client = scope.get("client")
    host = client[0] if client else "-"
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        path += "?" + scope["query_string"].decode("latin-1")
    t = time.gmtime(now)
    when = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{time.strftime('%Y:%H:%M:%S', t)} +0000"
    request = f"{scope['method']} {path} HTTP/{scope.get('http_version', '1.1')}"
    return (
        f'{host} - - [{when}] "{_quoted(request)}" {status} {size or "-"} '
        f'"{_quoted(headers.get("referer", "-"))}" "{_quoted(headers.get("user-agent", "-"))}"'
    )


def _quoted(text: str) -> str:
    """A field inside double quotes, with quotes and control characters escaped, so a
    request cannot forge a line of its own."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif not ch.isprintable() or ord(ch) > 126:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)
