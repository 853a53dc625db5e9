"""The model server's endpoints: decode a request, ask the :class:`Predictor`, encode the
answer. What they share lives on ``request.app.state``: ``predictor``, ``serving`` (the
:class:`ServerState`), ``auth`` and ``metrics``.

- Open Inference Protocol: ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/NAME``,
  ``/v2/models/NAME/ready``, ``/v2/models/NAME/infer``, each also under ``/versions/V``;
- plain JSON: ``POST /v1/models/NAME/predict`` with records or columns;
- MLflow's ``POST /invocations``, when the server serves one deployment;
- ``POST /v1/feedback``: true labels by request id, logged for monitoring;
- ``/v1/status`` (what is loaded, and why a candidate is not) and ``/metrics``.

Every answer names the version that gave it (``x-model-version`` and a field) and carries a
request id (``x-request-id``; a client's own is kept when it is short and printable).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from shipway.errors import InvalidArgument
from shipway.serving import codecs
from shipway.serving.feedback import accept_feedback
from shipway.serving.predictor import Arrival, Prediction, Predictor
from shipway.web.bodies import parse_json

Handler = Callable[[Request], Awaitable[Response]]
SIGNATURE_TO_OIP = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


def _predictor(request: Request) -> Predictor:
    predictor: Predictor = request.app.state.predictor
    return predictor


async def _body(request: Request) -> Any:
    return parse_json(await request.body())  # within the limit: BodySizeLimit saw to it


def request_id_of(request: Request, given: Any = None) -> str:
    """The caller's request id (the OIP ``id``, else ``x-request-id``) when it is at most
    128 printable ASCII characters, as a header can carry it; else a new one."""
    for candidate in (given, request.headers.get("x-request-id")):
        if _printable_id(candidate):
            return str(candidate)
    return uuid.uuid4().hex


def _printable_id(value: Any) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= 128 and value.isascii() and value.isprintable()
    )


def _answer(body: dict[str, Any], prediction: Prediction, request_id: str) -> JSONResponse:
    headers = {"x-request-id": request_id, "x-model-version": str(prediction.loaded.version)}
    task = BackgroundTask(prediction.after) if prediction.after is not None else None
    return JSONResponse(body, headers=headers, background=task)


# -- guards --------------------------------------------------------------------------------
def authorized(handler: Handler) -> Handler:
    """``handler`` behind the store's tokens (see :mod:`shipway.serving.auth`)."""

    async def endpoint(request: Request) -> Response:
        auth = request.app.state.auth
        if auth is not None:
            auth.check(request.headers.get("authorization"))
        return await handler(request)

    return endpoint


def counted(handler: Callable[[Request, Arrival], Awaitable[Response]]) -> Handler:
    """A prediction endpoint: behind the tokens, counted in flight and as an arrival."""

    async def endpoint(request: Request) -> Response:
        predictor = _predictor(request)
        arrival = predictor.arrival()
        predictor.metrics.in_flight.inc()
        try:
            return await handler(request, arrival)
        finally:
            predictor.metrics.in_flight.dec()
            arrival.close()

    return authorized(endpoint)


# -- health and metadata -------------------------------------------------------------------
async def live(_: Request) -> Response:
    return JSONResponse({"live": True})


async def ready(request: Request) -> Response:
    ok = request.app.state.serving.ready
    return JSONResponse({"ready": ok}, status_code=200 if ok else 503)


async def model_metadata(request: Request) -> Response:
    served = request.app.state.serving.get(request.path_params["name"])
    loaded = served.versions.get(served.deployment.stable or -1)
    columns = loaded.model.signature.inputs if loaded and loaded.model.signature else ()
    inputs = [
        {"name": c.name, "datatype": SIGNATURE_TO_OIP.get(c.type, "BYTES"), "shape": [-1]}
        for c in columns
    ]
    return JSONResponse(
        {
            "name": served.deployment.name,
            "versions": [str(v) for v in sorted(served.versions)],
            "platform": f"shipway-{loaded.model.flavor}" if loaded else "shipway",
            "inputs": inputs,
            "outputs": [{"name": "predict", "datatype": "FP64", "shape": [-1]}],
        }
    )


async def model_ready(request: Request) -> Response:
    served = request.app.state.serving.get(request.path_params["name"])
    version = request.path_params.get("version")
    wanted = served.deployment.stable if version is None else int(version)
    ok = wanted in served.versions
    return JSONResponse(
        {"name": served.deployment.name, "ready": ok}, status_code=200 if ok else 503
    )


# -- predictions ---------------------------------------------------------------------------
async def infer(request: Request, arrival: Arrival) -> Response:
    name = request.path_params["name"]
    pinned = request.path_params.get("version")
    predictor = _predictor(request)
    loaded = predictor.stable(name)
    frame, given = codecs.oip_request(await _body(request), loaded.columns if loaded else None)
    request_id = request_id_of(request, given)
    prediction = await predictor.predict(
        name, frame, request_id=request_id, pinned=int(pinned) if pinned else None, arrival=arrival
    )
    body = codecs.oip_response(name, prediction.loaded.version, request_id, prediction.outputs)
    return _answer(body, prediction, request_id)


async def plain(request: Request, arrival: Arrival) -> Response:
    name = request.path_params["name"]
    frame = codecs.plain_request(await _body(request))
    request_id = request_id_of(request)
    prediction = await _predictor(request).predict(
        name, frame, request_id=request_id, arrival=arrival
    )
    body = {
        "predictions": codecs.predictions_list(prediction.outputs),
        "model_version": prediction.loaded.version,
        "request_id": request_id,
    }
    return _answer(body, prediction, request_id)


async def invocations(request: Request, arrival: Arrival) -> Response:
    names = request.app.state.serving.names
    if len(names) != 1:
        raise InvalidArgument(
            "/invocations needs a server with one deployment",
            hint=f"use /v1/models/NAME/predict with NAME one of {', '.join(names)}",
        )
    predictor = _predictor(request)
    loaded = predictor.stable(names[0])
    frame = codecs.invocations_request(await _body(request), loaded.columns if loaded else None)
    request_id = request_id_of(request)
    prediction = await predictor.predict(names[0], frame, request_id=request_id, arrival=arrival)
    return _answer(
        {"predictions": codecs.predictions_list(prediction.outputs)}, prediction, request_id
    )


# -- feedback, status, metrics -------------------------------------------------------------
async def feedback(request: Request) -> Response:
    predictor = _predictor(request)
    accepted = accept_feedback(await _body(request), predictor.state, predictor.log)
    return JSONResponse({"accepted": accepted}, status_code=202)


async def status(request: Request) -> Response:
    return JSONResponse(_predictor(request).status())


async def metrics(request: Request) -> Response:
    rendered = request.app.state.metrics.render()
    return Response(rendered, media_type="text/plain; version=0.0.4")
