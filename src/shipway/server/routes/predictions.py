"""The prediction log through the API: reading it (as Arrow IPC), late labels, traffic
profiles, and the segments model servers and batch jobs write when they run through this
server instead of the stores."""

from __future__ import annotations

import io
import re
from typing import Any, cast

from fastapi import APIRouter, Depends, Query, Request, Response

from shipway.errors import InvalidArgument
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, session
from shipway.server.schemas import GroundTruthIn, StoredSegment
from shipway.serving.segments import check_segment
from shipway.store.token_store import role_allows

router = APIRouter(tags=["predictions"])
ARROW_STREAM = "application/vnd.apache.arrow.stream"
# kind/deployment=NAME/date=YYYY-MM-DD/hour=HH[/version=N]/FILE.parquet|json
_SEGMENT = re.compile(
    r"^(predictions|ground_truth|health|profiles)/deployment=([^/]+)/date=\d{4}-\d{2}-\d{2}"
    r"/hour=\d{2}(/version=\d{1,10})?/[A-Za-z0-9._-]{1,200}\.(parquet|json)$"
)


@router.get(
    "/deployments/{name}/log",
    response_model=None,
    responses={
        200: {
            "content": {ARROW_STREAM: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the rows, as an Arrow IPC stream",
        }
    },
)
def read_log(
    name: str,
    request: Request,
    kind: str = Query("predictions", description="predictions or ground_truth"),
    start: float | None = Query(None, alias="from", description="epoch seconds"),
    end: float | None = Query(None, alias="to", description="epoch seconds"),
    columns: list[str] | None = Query(None, description="only these columns (repeatable)"),
    who: Principal = Depends(requires("viewer")),
) -> Response:
    """A deployment's logged predictions (or labels) in [from, to), as an Arrow IPC stream."""

    import pyarrow as pa

    frame = session(request, who).predictions.read(
        name, kind, start=start, end=end, columns=columns
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return Response(sink.getvalue(), media_type=ARROW_STREAM)


@router.post("/deployments/{name}/ground-truth", status_code=202)
def log_ground_truth(
    name: str, body: GroundTruthIn, request: Request, who: Principal = Depends(requires("predict"))
) -> dict[str, int]:
    """True labels for earlier predictions: ``request_id`` (and ``row``) or ``key``, and
    ``label``. A caller labels the requests it made; a labeller, approver or admin any
    request. Labels for requests never answered are counted (``unknown``), not kept."""
    from shipway.serving.labelling import ANYONE, Labeller
    from shipway.serving.predictions import LocalPredictions

    if request.app.state.tokens.any_active():
        labeller = Labeller(who.user, role_allows(who.role, "labeller"))
    else:  # an open server names no caller: as on the stores, labels are kept as sent
        labeller = ANYONE
    predictions = cast(LocalPredictions, session(request, who).predictions)  # its own stores
    accepted = predictions.log_ground_truth(name, body.records, labeller)
    return {"accepted": accepted, "unknown": len(body.records) - accepted}


@router.get("/deployments/{name}/profile")
def traffic_profile(
    name: str,
    request: Request,
    version: int | None = Query(None, ge=1, le=2**31 - 1),
    start: float | None = Query(None, alias="from"),
    end: float | None = Query(None, alias="to"),
    who: Principal = Depends(requires("viewer")),
) -> Any:
    """The merged profile of the deployment's live traffic (null when the servers wrote none)."""
    found = session(request, who).predictions.traffic_profile(
        name, version=version, start=start, end=end
    )
    return None if found is None else found.to_dict()


@router.put("/logs/{key:path}", status_code=201, **answers(StoredSegment, 201))
async def put_segment(
    key: str, request: Request, who: Principal = Depends(requires("server"))
) -> dict[str, Any]:
    """One segment of the log (predictions, labels, health counts or a profile), as a model
    server or a batch job that runs through this server wrote it: only a token of role
    ``server`` (or admin) writes here, and each segment must read as its kind."""
    from starlette.concurrency import run_in_threadpool

    match = _SEGMENT.match(key)
    if match is None:
        raise InvalidArgument(
            f"{key!r} is not a prediction-log segment",
            hint="KIND/deployment=NAME/date=YYYY-MM-DD/hour=HH/FILE.parquet",
        )
    acting = session(request, who)
    await run_in_threadpool(acting.deployments.get, match.group(2))
    data = await request.body()
    await run_in_threadpool(check_segment, match.group(1), key, data)
    info = await run_in_threadpool(acting.stores.artifacts.put_bytes, data, key)
    return {"key": key, "size": info.size}
