"""``/api/v1/environments``: the environment documents runs refer to, stored once by content."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request

from shipway.errors import InvalidArgument
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, tracking
from shipway.server.schemas import Environment
from shipway.web.bodies import parse_json

router = APIRouter(prefix="/environments", tags=["runs"])
_KEY = re.compile(r"^[0-9a-f]{64}$")


_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post("", status_code=201, openapi_extra=_BODY)
async def put_environment(
    request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, str]:
    """Store a JSON document as sent (its key is the BLAKE3 hash of those bytes)."""
    from starlette.concurrency import run_in_threadpool

    data = await request.body()
    if not isinstance(parse_json(data, "an environment document"), dict):
        raise InvalidArgument("an environment document is a JSON object")
    key = await run_in_threadpool(tracking(request).put_environment, data)
    return {"key": key}


@router.get("/{digest}", **answers(Environment))
def get_environment(
    digest: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    if not _KEY.match(digest):
        raise InvalidArgument(f"{digest!r} is not an environment key (64 hex digits)")
    return tracking(request).read_environment(f"environments/{digest}.json")
