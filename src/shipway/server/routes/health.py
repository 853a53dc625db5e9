"""``/health/live`` (the process answers) and ``/health/ready`` (the stores answer)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shipway.server.routes.common import answers
from shipway.server.schemas import Readiness

router = APIRouter(tags=["health"])


@router.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "live"}


@router.get("/health/ready", **answers(Readiness))
def ready(request: Request) -> JSONResponse:
    stores = request.app.state.session.stores
    checks: dict[str, str] = {}
    try:
        with stores.db.read() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["metadata"] = "ok"
    except Exception as exc:  # readiness reports, it does not raise
        checks["metadata"] = f"unavailable: {type(exc).__name__}"
    try:
        stores.artifacts.list("health-check-none")
        checks["artifacts"] = "ok"
    except Exception as exc:
        checks["artifacts"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )
