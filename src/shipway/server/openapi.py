"""The API's OpenAPI document as the server behaves: errors are 400s with the error body
(FastAPI's own 422 is never sent, see ``server/errors.py``), and calls carry a bearer token
once the store has one (health checks and ``/tokens/required`` never need it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

OPEN = ("/health/live", "/health/ready")
SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (`shipway tokens create`), as `Authorization: Bearer TOKEN`. "
    "Needed once the store has a token, and always for a server beyond loopback.",
}


def install(app: FastAPI, routers: list[tuple[str, APIRouter]]) -> None:
    """Replace ``app.openapi`` with one that builds the document once, corrected, with the
    role each operation of ``routers`` (each with its prefix) needs."""
    original = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_roles(corrected(original()), routers)
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


ROLE = "x-shipway-role"  # the least role an operation needs, as the server enforces it


def with_roles(schema: dict[str, Any], routers: list[tuple[str, APIRouter]]) -> dict[str, Any]:
    """Each operation names the role it needs (``x-shipway-role``), read from the very
    dependency that enforces it, so the document cannot say one thing and the server do
    another; a test asserts every operation for every role against it."""
    from fastapi.routing import APIRoute

    for prefix, router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                _name_role(schema, prefix + route.path_format, route)
    return schema


def _name_role(schema: dict[str, Any], path: str, route: Any) -> None:
    role = _needed(route.dependant)
    operations = schema.get("paths", {}).get(path, {})
    for method in route.methods or ():
        if role is not None and method.lower() in operations:
            operation = operations[method.lower()]
            operation[ROLE] = role
            operation["description"] = (
                operation.get("description", "")
                + f"\n\nNeeds a token of role `{role}` (or one that includes it)."
            ).strip()


def _needed(dependant: Any) -> str | None:
    for sub in dependant.dependencies:
        role = getattr(sub.call, "role", None) or _needed(sub)
        if role:
            return str(role)
    return None


# JSON has no NaN or infinity: metric values carry them by name (see routes/common.plain)
NUMBER_OR_NAME = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}


def corrected(schema: dict[str, Any]) -> dict[str, Any]:
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for answer in responses.values():  # a binary answer has no empty JSON beside it
                content = answer.get("content", {})
                if len(content) > 1 and content.get("application/json") == {"schema": {}}:
                    content.pop("application/json")
            if path in OPEN:
                operation["security"] = []
    components = schema.setdefault("components", {})
    schemas = components.get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    if "Run" in schemas:
        schemas["Run"]["properties"]["metrics"]["additionalProperties"] = NUMBER_OR_NAME
    for name in ("Metric", "MetricIn"):
        if name in schemas:
            schemas[name]["properties"]["value"] = {**NUMBER_OR_NAME, "title": "Value"}
    components["securitySchemes"] = {"token": SCHEME}
    schema["security"] = [{"token": []}, {}]  # {}: an embedded server without tokens
    return schema
