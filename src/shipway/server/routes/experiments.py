"""``/api/v1/experiments``"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from shipway.server.auth import Principal, requires
from shipway.server.routes.common import answers, one, plain, tracking
from shipway.server.schemas import ExperimentIn
from shipway.types import Experiment

router = APIRouter(prefix="/experiments", tags=["experiments"])


@router.get("")
def list_experiments(
    request: Request, who: Principal = Depends(requires("viewer"))
) -> list[dict[str, Any]]:
    return [{**plain(e), "runs": n} for e, n in tracking(request).list_experiments()]


@router.post("", status_code=201, **answers(Experiment, 201))
def create_experiment(
    body: ExperimentIn, request: Request, who: Principal = Depends(requires("editor"))
) -> dict[str, Any]:
    return one(tracking(request).create_experiment(body.name, body.tags))


@router.get("/{name_or_id}", **answers(Experiment))
def get_experiment(
    name_or_id: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, Any]:
    return one(tracking(request).get_experiment(name_or_id))


@router.get("/{name_or_id}/columns")
def run_columns(
    name_or_id: str, request: Request, who: Principal = Depends(requires("viewer"))
) -> dict[str, list[str]]:
    """The param, metric and tag keys of the experiment's newest 1,000 runs: the columns a
    runs table can show."""
    backend = tracking(request)
    experiment = backend.get_experiment(name_or_id)
    return backend.store.run_columns([experiment.experiment_id])
