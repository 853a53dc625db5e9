"""``/api/v1/runs``: create, read, end, log values, metric history, search."""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from shipway.errors import Forbidden, InvalidArgument
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, one, tracking
from shipway.server.schemas import InputsIn, LogBatch, RunEnd, RunIn, SearchIn
from shipway.store.artifacts import clean_key
from shipway.types import ArtifactInfo, DatasetInput, Metric, MetricBucket, Run

router = APIRouter(prefix="/runs", tags=["runs"])


def writable_run(run_id: str, request: Request, who: Principal) -> None:
    """A run is written by the user who started it, or by an admin."""

    if who.role == "admin":
        return
    owner = tracking(request).get_run(run_id).user
    if owner != who.user:
        raise Forbidden(
            f"run {run_id} belongs to {owner}; only {owner} or an admin may write to it",
            hint="start a run of your own",
        )


@router.post("", status_code=201, **answers(Run, 201))
def create_run(
    body: RunIn, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    # The client captures its own environment and sends it as tags: the server's is irrelevant.
    run = tracking(request).create_run(
        body.experiment,
        name=body.name,
        params=body.params,
        tags=body.tags,
        parent_run_id=body.parent_run_id,
        capture_environment=False,
        user=who.user,
    )
    return one(run)


@router.post("/search")
def search_runs(
    body: SearchIn, request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    backend = tracking(request)
    backend.buffer.flush()
    ids = backend.experiment_ids(body.experiments)
    found = backend.store.search_runs(
        ids, body.filter, body.order_by, body.max_results, body.offset
    )
    if body.columns is not None:
        found = [_project(run, body.columns) for run in found]
    return many(found)


def _project(run: Run, columns: list[str]) -> Run:
    """The run with only the values ``columns`` names: a table of a few columns does not
    carry every metric of every run (an experiment may log thousands)."""
    wanted: dict[str, set[str]] = {"metrics": set(), "params": set(), "tags": set()}
    for column in columns:
        kind, dot, key = column.partition(".")
        if not dot or kind not in wanted:
            raise InvalidArgument(
                f"unknown column {column!r}",
                hint="name columns as metrics.KEY, params.KEY or tags.KEY",
            )
        wanted[kind].add(key)
    return dataclasses.replace(
        run,
        metrics={k: v for k, v in run.metrics.items() if k in wanted["metrics"]},
        params={k: v for k, v in run.params.items() if k in wanted["params"]},
        tags={k: v for k, v in run.tags.items() if k in wanted["tags"]},
    )


@router.get("/{run_id}", **answers(Run))
def get_run(
    run_id: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    return one(tracking(request).get_run(run_id))


@router.post("/{run_id}/end", **answers(Run))
def end_run(
    run_id: str, body: RunEnd, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    writable_run(run_id, request, who)
    client = tracking(request)
    client.end_run(run_id, body.status)
    return one(client.get_run(run_id))


@router.post("/{run_id}/log-batch", status_code=204)
def log_batch(
    run_id: str, body: LogBatch, request: Request, who: Principal = Depends(requires("editor"))
) -> None:
    writable_run(run_id, request, who)
    metrics = [Metric(m.key, m.value, m.step, m.timestamp or 0.0) for m in body.metrics]
    tracking(request).log_batch(run_id, metrics, body.params, body.tags)


@router.post("/{run_id}/inputs", status_code=204)
def log_inputs(
    run_id: str, body: InputsIn, request: Request, who: Principal = Depends(requires("editor"))
) -> None:
    """Record datasets (name, content hash, role, rows) as the run's inputs."""
    writable_run(run_id, request, who)
    tracking(request).log_inputs(run_id, [DatasetInput(**i.model_dump()) for i in body.inputs])


@router.get("/{run_id}/metrics/{key}", **answers(list[Metric]))
def metric_history(
    run_id: str, key: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return many(tracking(request).get_metric_history(run_id, key))


@router.get("/{run_id}/metrics/{key}/sampled", **answers(list[MetricBucket]))
def sampled_metric_history(
    run_id: str,
    key: str,
    request: Request,
    points: int = Query(320, ge=1, le=10_000, description="at most this many buckets"),
    who: Principal = Depends(requires("viewer")),
) -> list[dict[str, Any]]:
    """The history cut into at most ``points`` buckets of steps, each with its mean, min and
    max: what a chart draws, however many steps were logged."""
    tracking(request).buffer.flush()
    buckets = tracking(request).store.sampled_metric_history(run_id, key, points)
    return many(buckets)  # NaN and the infinities by name, as every metric of the API


@router.get("/{run_id}/artifacts")
def list_artifacts(
    run_id: str, request: Request, path: str = "", who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return many(tracking(request).list_artifacts(run_id, path))


@router.put("/{run_id}/artifacts/{path:path}", status_code=201, **answers(ArtifactInfo, 201))
async def upload_artifact(
    run_id: str, path: str, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    """Stream a file into the run's artifacts: spooled to disk (flat memory), stored only if complete."""

    from starlette.concurrency import run_in_threadpool

    clean_key(path)  # refuse '..' and absolute paths before reading a byte
    await run_in_threadpool(writable_run, run_id, request, who)
    await run_in_threadpool(
        tracking(request).store.check_artifact_writes, run_id, [clean_key(path)]
    )
    expected = request.headers.get("content-length")
    with tempfile.TemporaryFile() as spool:
        received = 0
        async for chunk in request.stream():
            spool.write(chunk)
            received += len(chunk)
        if expected is not None and expected.isdigit() and int(expected) != received:
            raise InvalidArgument(
                f"the upload was cut short: {received:,} of {int(expected):,} bytes arrived; nothing was stored"
            )
        spool.seek(0)
        info = await run_in_threadpool(tracking(request).log_stream, run_id, spool, path)
    return one(info)


@router.get("/{run_id}/artifacts/{path:path}")
def download_artifact(
    run_id: str, path: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> Any:
    """Stream one artifact file; ``x-shipway-digest`` and ``x-shipway-size`` carry what was recorded."""
    from fastapi.responses import StreamingResponse

    info, stream = tracking(request).open_artifact(run_id, path)

    def chunks() -> Any:
        with stream:
            while chunk := stream.read(1 << 20):
                yield chunk

    # Sizes come as x-shipway-size, not content-length: should the stored bytes have been
    # altered, the client still receives all of them and the hash check names the problem.
    headers = {"x-shipway-digest": info.digest, "x-shipway-size": str(info.size)}
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)
