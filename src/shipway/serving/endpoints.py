"""The model server's endpoints: decode a request, ask the :class:`Predictor`, encode the
answer. What they share lives on ``request.app.state``: ``predictor``, ``serving`` (the
:class:`ServerState`), ``auth`` and ``metrics``.

- Open Inference Protocol: ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/NAME``,
  ``/v2/models/NAME/ready``, ``/v2/models/NAME/infer``, each also under ``/versions/V``;
- plain JSON: ``POST /v1/models/NAME/predict`` with records or columns;
- MLflow's ``POST /invocations``, when the server serves one deployment;
- ``POST /v1/feedback``: true labels by request id, logged for monitoring;
- ``/v1/status`` (what is loaded, and why a candidate is not) and ``/metrics``.

Every answer names the version that gave it (``x-model-version`` and a field; when an A/B
split answered a request's rows with two versions, the body gives each row's version and the
header is left out) and carries a request id (``x-request-id``; a client's own is kept when it
is short and printable).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from shipway import __version__
from shipway.errors import InvalidArgument, NotFound, UnsupportedMediaType
from shipway.serving import codecs, oip
from shipway.serving.auth import CALLER
from shipway.serving.feedback import accept_feedback
from shipway.serving.predictor import Arrival, Prediction, Predictor
from shipway.serving.state import Loaded
from shipway.web.bodies import parse_json

Handler = Callable[[Request], Awaitable[Response]]


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


def _identity(prediction: Prediction, request_id: str) -> dict[str, str]:
    """The answer's headers: its request id, and its version when one version answered."""
    headers = {"x-request-id": request_id}
    if prediction.single_version is not None:
        headers["x-model-version"] = str(prediction.single_version)
    return headers


def _answer(body: dict[str, Any], prediction: Prediction, request_id: str) -> JSONResponse:
    if prediction.versions is not None:  # an A/B split: each row says which version it had
        body["model_versions"] = prediction.row_versions(len(prediction.versions))
    headers = _identity(prediction, request_id)
    task = BackgroundTask(prediction.after) if prediction.after is not None else None
    return JSONResponse(body, headers=headers, background=task)


# -- guards --------------------------------------------------------------------------------
def authorized(handler: Handler) -> Handler:
    """``handler`` behind the store's tokens (see :mod:`shipway.serving.auth`)."""

    async def endpoint(request: Request) -> Response:
        auth = request.app.state.auth
        if auth is not None:
            CALLER.set(auth.check(request.headers.get("authorization")))
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


async def ping(request: Request) -> Response:
    """``mlflow models serve``'s probe (``/ping`` and ``/health``): 200 once the models are
    loaded and warm, 503 before."""
    ok = request.app.state.serving.ready
    return PlainTextResponse("\n", status_code=200 if ok else 503)


async def version(_: Request) -> Response:

    return PlainTextResponse(__version__)


async def server_metadata(_: Request) -> Response:

    return JSONResponse(
        {"name": "shipway", "version": __version__, "extensions": ["binary_tensor_data"]}
    )


async def model_metadata(request: Request) -> Response:
    served = request.app.state.serving.get(request.path_params["name"])
    version = request.path_params.get("version")
    loaded = served.versions.get(served.deployment.stable if version is None else int(version))
    if loaded is None:
        raise NotFound(
            f"deployment {served.deployment.name!r} does not serve version {version}",
            hint=f"it serves {sorted(served.versions)}",
        )
    inputs, outputs = _tensors(loaded)
    return JSONResponse(
        {
            "name": served.deployment.name,
            "versions": [str(v) for v in sorted(served.versions)],
            "platform": f"shipway-{loaded.model.flavor}",
            "inputs": inputs,
            "outputs": outputs,
        }
    )


def _tensors(loaded: Loaded) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The version's input and output tensors, as the inference protocol names them."""
    columns = loaded.model.signature.inputs if loaded.model.signature else ()
    inputs = [
        {"name": c.name, "datatype": oip.FROM_SIGNATURE.get(c.type, "BYTES"), "shape": [-1]}
        for c in columns
    ]
    outputs = [{"name": "predict", "datatype": _answer_datatype(loaded), "shape": [-1]}]
    if loaded.classifier:
        width = len(loaded.classes) if loaded.classes else -1
        outputs.append({"name": oip.PROBABILITIES, "datatype": "FP64", "shape": [-1, width]})
    outputs.append({"name": oip.MODEL_VERSION, "datatype": "INT64", "shape": [-1]})
    return inputs, outputs


async def model_config(request: Request) -> Response:
    """``GET /v2/models/NAME/config``: the model's configuration as Triton writes it, which
    tools such as perf_analyzer read before they send a request."""
    served = request.app.state.serving.get(request.path_params["name"])
    loaded = served.versions.get(served.deployment.stable or -1)
    if loaded is None:
        raise NotFound(f"deployment {served.deployment.name!r} has no version loaded yet")
    inputs, outputs = _tensors(loaded)

    def config(tensor: dict[str, Any]) -> dict[str, Any]:
        kind = "STRING" if tensor["datatype"] == "BYTES" else tensor["datatype"]
        return {"name": tensor["name"], "data_type": f"TYPE_{kind}", "dims": tensor["shape"]}

    return JSONResponse(
        {
            "name": served.deployment.name,
            "platform": f"shipway-{loaded.model.flavor}",
            "backend": "shipway",
            "max_batch_size": 0,  # the first dimension is the rows: no batch dimension added
            "input": [config(t) for t in inputs],
            "output": [config(t) for t in outputs],
            "version_policy": {"specific": {"versions": [str(v) for v in sorted(served.versions)]}},
        }
    )


async def repository_index(request: Request) -> Response:
    """``POST /v2/repository/index``: every deployment served and each version loaded."""
    state = request.app.state.serving
    found = [
        {"name": name, "version": str(version), "state": "READY", "reason": ""}
        for name in state.names
        if name in state.served
        for version in sorted(state.served[name].versions)
    ]
    return JSONResponse(found)


def _answer_datatype(loaded: Loaded) -> str:
    """What ``predict`` answers: the signature's output type, else the type of the version's
    answer to its input example when it was loaded, else BYTES (any value as text)."""
    import numpy as np

    if loaded.output_spec is not None:
        return oip.FROM_SIGNATURE.get(loaded.output_spec.type, "BYTES")
    if loaded.answer_dtype is not None:
        return oip.datatype_of(np.empty(0, dtype=loaded.answer_dtype))
    return "BYTES"


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
    """An OIP inference: JSON or binary tensors in, the outputs asked for (all by default)
    back as JSON or binary, as the request says."""
    name = request.path_params["name"]
    pinned = request.path_params.get("version")
    predictor = _predictor(request)
    loaded = predictor.stable(name)  # an unknown name is a 404 whatever the body
    parsed = oip.parse_request(await request.body(), request.headers.get(oip.HEADER_LENGTH))
    types = None
    if loaded is not None and loaded.model.signature is not None:
        types = {c.name: c.type for c in loaded.model.signature.inputs}
    frame = oip.to_frame(parsed, types)
    offered = ["predict"] + (
        [oip.PROBABILITIES] if loaded is not None and loaded.classifier else []
    )
    offered.append(oip.MODEL_VERSION)
    unknown = [o for o in parsed.outputs or {} if o not in offered]
    if unknown:
        raise InvalidArgument(
            f"the model has no output {unknown[0]!r}", hint=f"it has {', '.join(offered)}"
        )
    wanted = offered if parsed.outputs is None else list(parsed.outputs)
    request_id = request_id_of(request, parsed.id)
    prediction = await predictor.predict(
        name,
        frame,
        request_id=request_id,
        pinned=int(pinned) if pinned else None,
        arrival=arrival,
        probabilities=oip.PROBABILITIES in wanted,
    )
    tensors = []
    if "predict" in wanted:
        tensors.append(oip.output_tensor("predict", prediction.outputs))
    if oip.PROBABILITIES in wanted and prediction.probabilities is not None:
        classes = prediction.loaded.classes
        extra = {"classes": [str(c) for c in classes]} if classes else None
        tensors.append(oip.output_tensor(oip.PROBABILITIES, prediction.probabilities, extra))
    if oip.MODEL_VERSION in wanted:
        versions = prediction.row_versions(len(frame))
        tensors.append(oip.output_tensor(oip.MODEL_VERSION, versions, dtype="int64"))
    body, headers = oip.encode_response(
        name, prediction.single_version, request_id, tensors, parsed
    )
    headers.update(_identity(prediction, request_id))
    task = BackgroundTask(prediction.after) if prediction.after is not None else None
    return Response(body, headers=headers, background=task)


async def plain(request: Request, arrival: Arrival) -> Response:
    name = request.path_params["name"]
    frame = codecs.plain_request(await _body(request))
    request_id = request_id_of(request)
    prediction = await _predictor(request).predict(
        name, frame, request_id=request_id, arrival=arrival
    )
    body = {
        "predictions": codecs.predictions_list(prediction.outputs),
        "model_version": prediction.single_version,
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
    columns = loaded.columns if loaded else None
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if kind == "text/csv":
        frame = codecs.csv_request(await request.body(), columns)
    elif kind in ("application/json", ""):
        frame = codecs.invocations_request(await _body(request), columns)
    else:
        raise UnsupportedMediaType(f"/invocations takes application/json or text/csv, not {kind!r}")
    request_id = request_id_of(request)
    prediction = await predictor.predict(names[0], frame, request_id=request_id, arrival=arrival)
    return _answer(
        {"predictions": codecs.predictions_list(prediction.outputs)}, prediction, request_id
    )


# -- feedback, status, metrics -------------------------------------------------------------
async def feedback(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    predictor = _predictor(request)
    body = await _body(request)
    # off the event loop: a label for an older request is looked up in the log
    accepted, unknown = await run_in_threadpool(
        accept_feedback, body, predictor.state, predictor.log, CALLER.get(), predictor.recent
    )
    return JSONResponse({"accepted": accepted, "unknown": unknown}, status_code=202)


async def status(request: Request) -> Response:
    return JSONResponse(_predictor(request).status())


async def metrics(request: Request) -> Response:
    rendered = request.app.state.metrics.render()
    return Response(rendered, media_type="text/plain; version=0.0.4")
