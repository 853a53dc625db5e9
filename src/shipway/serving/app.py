"""``create_serving_app``: the model server, a bare Starlette app over a :class:`Predictor`.

The routes are the module-level endpoints of :mod:`shipway.serving.endpoints`; the body
limit, the error body and the 404/405/500 answers are those of the platform server
(:mod:`shipway.web`). One model call per request, on the event loop.
"""

from __future__ import annotations

import contextlib
import gc
import json
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipway.errors import ShipwayError
from shipway.serving import endpoints as e
from shipway.serving.auth import ServingAuth
from shipway.serving.metrics import ServingMetrics
from shipway.serving.prediction_log import PredictionLog
from shipway.serving.predictor import Predictor
from shipway.serving.state import ServerState
from shipway.web import handlers
from shipway.web.access_log import AccessLog
from shipway.web.limits import BodySizeLimit

ROUTES = [  # health and /metrics stay open, for probes and scrapers
    Route("/v2", e.server_metadata),
    Route("/v2/health/live", e.live),
    Route("/v2/health/ready", e.ready),
    Route("/v2/models/{name}", e.authorized(e.model_metadata)),
    Route("/v2/models/{name}/versions/{version:int}", e.authorized(e.model_metadata)),
    Route("/v2/models/{name}/config", e.authorized(e.model_config)),
    Route("/v2/repository/index", e.authorized(e.repository_index), methods=["POST"]),
    Route("/v2/models/{name}/ready", e.model_ready),
    Route("/v2/models/{name}/versions/{version:int}/ready", e.model_ready),
    Route("/v2/models/{name}/infer", e.counted(e.infer), methods=["POST"]),
    Route("/v2/models/{name}/versions/{version:int}/infer", e.counted(e.infer), methods=["POST"]),
    Route("/v1/models/{name}/predict", e.counted(e.plain), methods=["POST"]),
    Route("/invocations", e.counted(e.invocations), methods=["POST"]),
    Route("/ping", e.ping),
    Route("/health", e.ping),
    Route("/version", e.version),
    Route("/v1/feedback", e.authorized(e.feedback), methods=["POST"]),
    Route("/v1/status", e.authorized(e.status)),
    Route("/metrics", e.metrics),
]


def create_serving_app(
    state: ServerState,
    log: PredictionLog | None = None,
    auth: ServingAuth | None = None,
    *,
    access_log: bool = False,
) -> Starlette:
    """The model server for what ``state`` serves, logging to ``log``, guarded by ``auth``;
    with ``access_log``, one combined-format line per request on stderr."""
    metrics = ServingMetrics(log, served=state.names)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> Any:
        from starlette.concurrency import run_in_threadpool

        await run_in_threadpool(state.refresh)  # load and warm every version before serving
        # What is alive now (modules, models) lives as long as the server: keep it out of the
        # garbage collector's passes, which otherwise grow with everything the process imported.
        gc.collect()
        gc.freeze()
        state.start()
        try:
            yield
        finally:
            state.stop()
            if log is not None:
                await run_in_threadpool(log.close)  # a clean shutdown loses no prediction
            metrics.close()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={
            ShipwayError: _shipway_error,
            404: _not_found,
            405: _not_allowed,
            Exception: _bug,
        },
        middleware=([Middleware(AccessLog)] if access_log else []) + [Middleware(BodySizeLimit)],
    )
    app.state.serving = state
    app.state.auth = auth
    app.state.metrics = metrics
    app.state.predictor = Predictor(state, log, metrics)
    return app


def _count(request: Request, status: int, version: int | None = None) -> None:
    request.app.state.metrics.error(request.path_params.get("name") or "-", status, version)


async def _shipway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipwayError)
    _count(request, exc.http_status, getattr(exc, "version", None))
    return _shaped(request, handlers.error_response(exc))


async def _not_found(request: Request, exc: Exception) -> Response:
    return _shaped(request, handlers.not_found(request))


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _shaped(request, handlers.not_allowed(request))


async def _bug(request: Request, exc: Exception) -> Response:
    _count(request, 500)
    return _shaped(request, handlers.bug("the model server", exc))


def _shaped(request: Request, response: JSONResponse) -> Response:
    """Under ``/v2`` an error is the protocol's ``{"error": "message"}`` (what tritonclient
    and KServe clients read); elsewhere shipway's ``{"error": {code, message, ...}}``."""
    if not request.url.path.startswith("/v2"):
        return response
    text = json.loads(bytes(response.body))["error"]["message"]
    kept = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return JSONResponse({"error": text}, status_code=response.status_code, headers=kept)
