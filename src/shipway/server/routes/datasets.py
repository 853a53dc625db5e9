"""``/api/v1/datasets``: dataset versions, and the content-addressed objects they are made of.

A client adds a version in two steps: it uploads each object it has not seen on the server
(``PUT /datasets/objects/{digest}``, checked against the digest), then asks for the version
(``POST /datasets/{name}/versions``), which the server checks and profiles itself."""

from __future__ import annotations

import re
import tempfile
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from shipway.errors import InvalidArgument, NotFound
from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, many, plain, session
from shipway.server.schemas import (
    AddedVersion,
    DatasetSummary,
    DatasetVersionIn,
    ManifestFile,
    RunUsing,
    StoredObject,
)
from shipway.store.artifacts import new_hasher
from shipway.types import DatasetVersion

router = APIRouter(prefix="/datasets", tags=["datasets"])
Version = Path(ge=1, le=2**31 - 1)
_DIGEST = re.compile(r"^blake3:[0-9a-f]{64}$")


def _digest(digest: str) -> str:
    if not _DIGEST.match(digest):
        raise InvalidArgument(f"{digest!r} is not an object digest (blake3:<64 hex digits>)")
    return digest


@router.get("", **answers(list[DatasetSummary]))
def list_datasets(request: Request, who: Principal = Depends(requires("viewer"))) -> list[Any]:
    found = session(request, who).datasets.list()
    return [{"name": n, "versions": v, "updated_at": t} for n, v, t in found]


@router.get("/objects/{digest}")
def get_object(digest: str, request: Request, who: Principal = Depends(requires("viewer"))) -> Any:
    """An object's bytes, streamed (HEAD says whether the server has it)."""
    from shipway.data.versions import object_key

    artifacts = session(request, who).stores.artifacts
    key = object_key(_digest(digest))
    if not artifacts.exists(key):
        raise NotFound(f"no stored object {digest}")
    if request.method == "HEAD":
        return Response(status_code=200)
    stream = artifacts.open(key)

    def chunks() -> Any:
        with stream:
            while chunk := stream.read(1 << 20):
                yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


router.add_api_route("/objects/{digest}", get_object, methods=["HEAD"], include_in_schema=False)


@router.put("/objects/{digest}", status_code=201, **answers(StoredObject, 201))
async def put_object(
    digest: str, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    """Store bytes under their hash: refused unless they hash to ``digest``."""

    from starlette.concurrency import run_in_threadpool

    from shipway.data.versions import object_key

    artifacts = session(request, who).stores.artifacts
    key = object_key(_digest(digest))
    with tempfile.TemporaryFile() as spool:
        hasher, size = new_hasher(), 0
        async for chunk in request.stream():
            hasher.update(chunk)
            spool.write(chunk)
            size += len(chunk)
        if "blake3:" + hasher.hexdigest() != digest:
            raise InvalidArgument("the uploaded bytes do not hash to the digest in the path")
        if not await run_in_threadpool(artifacts.exists, key):
            spool.seek(0)
            await run_in_threadpool(artifacts.put_stream, spool, key)
    return {"digest": digest, "size": size}


@router.get("/{name}/versions", **answers(list[DatasetVersion]))
def list_versions(
    name: str,
    request: Request,
    digest: str | None = Query(None, description="only the version with this content hash"),
    who: Principal = Depends(requires("viewer")),
) -> list[Any]:
    datasets = session(request, who).datasets
    found = datasets.versions(name)
    return many([v for v in found if digest is None or v.digest == digest])


@router.post("/{name}/versions", status_code=201, **answers(AddedVersion, 201))
def add_version(
    name: str,
    body: DatasetVersionIn,
    request: Request,
    who: Principal = Depends(requires("editor")),
) -> dict[str, Any]:
    """A version of objects already uploaded; ``created`` is false when it existed."""
    from shipway.data.versions import LocalDatasets

    datasets = session(request, who).datasets
    assert isinstance(datasets, LocalDatasets)
    version, created = datasets.add_stored(name, **body.model_dump())
    return {"version": plain(version), "created": created}


@router.get("/{name}/newest")
def newest(name: str, request: Request, who: Principal = Depends(requires("viewer"))) -> Any:
    return plain(session(request, who).datasets.get(name))


@router.get("/{name}/versions/{version}")
def get_version(
    name: str,
    request: Request,
    version: int = Version,
    who: Principal = Depends(requires("viewer")),
) -> Any:
    return plain(session(request, who).datasets.get(name, version))


@router.get("/{name}/versions/{version}/runs", **answers(list[RunUsing]))
def runs_using(
    name: str,
    request: Request,
    version: int = Version,
    who: Principal = Depends(requires("viewer")),
) -> list[Any]:
    datasets = session(request, who).datasets
    found = datasets.runs_using(datasets.get(name, version))
    return [{"run_id": r, "role": role} for r, role in found]


@router.get("/{name}/versions/{version}/manifest", **answers(dict[str, ManifestFile]))
def manifest(
    name: str,
    request: Request,
    version: int = Version,
    who: Principal = Depends(requires("viewer")),
) -> dict[str, Any]:
    datasets = session(request, who).datasets
    return datasets.manifest(datasets.get(name, version))
