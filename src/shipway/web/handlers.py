"""What both servers answer when a request fails: a ShipwayError as its own 4xx (or 5xx)
with the one error body, a route that does not exist, a method that is not allowed, and a
bug, which says so without internals."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shipway.errors import ShipwayError
from shipway.web.errors import error_body

log = logging.getLogger("shipway.web")


def error_response(exc: ShipwayError, headers: dict[str, str] | None = None) -> JSONResponse:
    """A ShipwayError as the answer: its status and ``{"error": {code, message, details}}``."""
    return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)


def not_found(request: Request) -> JSONResponse:
    return JSONResponse(error_body("NOT_FOUND", f"no route {request.url.path}"), status_code=404)


def not_allowed(request: Request, allowed: list[str] | None = None) -> JSONResponse:
    body = error_body(
        "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}"
    )
    headers = {"Allow": ", ".join(allowed)} if allowed else None
    return JSONResponse(body, status_code=405, headers=headers)


def bug(what: str, exc: Any) -> JSONResponse:
    """A 500 that names no internals; the traceback goes to the server's log."""
    log.error("unhandled error in %s", what, exc_info=exc)
    message = f"{what} failed; this is a bug, please report it"
    return JSONResponse(error_body("INTERNAL", message), status_code=500)
