"""The API's OpenAPI document as the server behaves: errors are 400s with the error body
(FastAPI's own 422 is never sent, see ``server/errors.py``), and calls carry a bearer token
once the store has one (health checks and ``/tokens/required`` never need it)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

OPEN = ("/health/live", "/health/ready", "/api/v1/tokens/required")
SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (`shipway tokens create`), as `Authorization: Bearer TOKEN`. "
    "Needed once the store has a token, and always for a server beyond loopback.",
}


def install(app: FastAPI) -> None:
    """Replace ``app.openapi`` with one that builds the document once, corrected."""
    original = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = corrected(original())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


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
