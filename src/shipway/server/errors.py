"""Every error leaves the server as ``{"error": {"code", "message", "details"}}``.

User errors are 4xx; anything else is a bug and answers 500 without internals.
"""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipway.errors import ShipwayError
from shipway.web import handlers
from shipway.web.errors import error_body

__all__ = ["allowed_methods", "error_body", "install"]

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    @app.exception_handler(ShipwayError)
    async def shipway_error(_: Request, exc: ShipwayError) -> JSONResponse:
        return handlers.error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        first = problems[0] if problems else {"where": "body", "problem": "invalid"}
        message = f"invalid request: {first['where']}: {first['problem']}"
        return JSONResponse(error_body("INVALID_ARGUMENT", message, problems), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        codes = {
            400: "INVALID_ARGUMENT",
            404: "NOT_FOUND",
            405: "METHOD_NOT_ALLOWED",
            413: "PAYLOAD_TOO_LARGE",
        }
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # The router names only the first route that matched the path; a path served by
            # several routes (GET and POST /experiments) must list all its methods.
            headers["Allow"] = ", ".join(allowed_methods(app, request.url.path))
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":
            message = "the body is not JSON, or is nested too deeply to read"
        body = error_body(codes.get(exc.status_code, "HTTP_ERROR"), message)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def bug(_: Request, exc: Exception) -> JSONResponse:
        return handlers.bug("the server", exc)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the OpenAPI document lists for the path template that matches ``path``."""

    patterns: list[tuple[re.Pattern[str], list[str]]] | None = getattr(
        app.state, "method_patterns", None
    )
    if patterns is None:
        patterns = []
        for template, operations in app.openapi().get("paths", {}).items():
            source = "^" + re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template)) + "$"
            patterns.append((re.compile(source), sorted(m.upper() for m in operations)))
        # the most literal template first: /tokens/verify, not /tokens/{token_id}
        patterns.sort(key=lambda found: found[0].pattern.count("[^/]+"))
        app.state.method_patterns = patterns
    for compiled, methods in patterns:
        if compiled.match(path):
            return methods
    return []
