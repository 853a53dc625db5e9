"""``/api/v1/loops``: each continuous-training loop of the server's ``shipway.toml``, as
its controller left it: state, champion, candidate, the gate's verdict, the canary's
evidence."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shipway.server.auth import Principal, requires
from shipway.server.routes.common import plain, session

router = APIRouter(tags=["loops"])


@router.get("/loops")
def loops(
    request: Request,
    deployment: str | None = Query(None, max_length=250, description="one loop's deployment"),
    who: Principal = Depends(requires("viewer")),
) -> list[dict[str, Any]]:
    """Each loop's state and evidence (``shipway loops status``)."""
    found: list[dict[str, Any]] = plain(session(request, who).loops.status(deployment))
    return found
