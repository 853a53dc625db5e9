"""The model server: a bare Starlette app, one model call per request on the event loop.

Routes (``NAME`` is a deployment):

- Open Inference Protocol: ``/v2/health/live``, ``/v2/health/ready``, ``/v2/models/NAME``,
  ``/v2/models/NAME/ready``, ``/v2/models/NAME/infer``, each also under ``/versions/V``;
- plain JSON: ``POST /v1/models/NAME/predict`` with records or columns;
- MLflow's ``POST /invocations``, when the server serves one deployment;
- ``POST /v1/feedback``: true labels by request id, logged for monitoring;
- ``/v1/status`` (what is loaded, and why a candidate is not) and ``/metrics``.

Every answer names the version that gave it (``x-model-version`` and a field) and carries
a request id (``x-request-id``; a client's own is kept).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import random
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipway.errors import InvalidArgument, NotFound, ShipwayError
from shipway.serving import codecs, routing
from shipway.serving.auth import ServingAuth
from shipway.serving.batching import MicroBatcher
from shipway.serving.log_encoding import arrow_type
from shipway.serving.prediction_log import GROUND_TRUTH, Logged, PredictionLog
from shipway.serving.state import Loaded, ServerState, Serving
from shipway.web.bodies import parse_json
from shipway.web.limits import BodySizeLimit

_SIGNATURE_TO_OIP = {
    "boolean": "BOOL",
    "integer": "INT32",
    "long": "INT64",
    "float": "FP32",
    "double": "FP64",
    "string": "BYTES",
    "binary": "BYTES",
    "datetime": "BYTES",
}


class ServingMetrics:
    def __init__(self, log: PredictionLog | None) -> None:
        self.registry = r = CollectorRegistry()
        self.log = log
        labels = ["deployment", "version"]
        self.requests = Counter(
            "shipway_predict_requests_total", "prediction requests", labels, registry=r
        )
        self.errors = Counter(
            "shipway_predict_errors_total",
            "refused or failed requests",
            ["deployment", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "shipway_predict_seconds",
            "time to answer",
            labels,
            registry=r,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5),
        )
        self.rows = Counter("shipway_predict_rows_total", "rows predicted", labels, registry=r)
        self.values = Histogram(
            "shipway_prediction_value",
            "predicted values",
            labels,
            registry=r,
            buckets=(0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 10, 100, 1000),
        )
        self.in_flight = Gauge("shipway_predict_in_flight", "requests being answered", registry=r)
        self.shadow_errors = Counter(
            "shipway_shadow_errors_total", "shadow predictions that failed", labels, registry=r
        )
        if log is not None:
            Gauge(
                "shipway_prediction_log_dropped_rows",
                "rows the log could not keep up with",
                registry=r,
            ).set_function(lambda: log.dropped)
            Gauge(
                "shipway_prediction_log_pending_rows", "rows waiting to be written", registry=r
            ).set_function(lambda: log.pending)


def create_serving_app(
    state: ServerState, log: PredictionLog | None = None, auth: ServingAuth | None = None
) -> Starlette:
    metrics = ServingMetrics(log)

    def authorized(handler: Any) -> Any:
        """The handler, behind the store's tokens (see ``shipway.serving.auth``)."""
        if auth is None:
            return handler

        async def endpoint(request: Request, *args: Any) -> Response:
            auth.check(request.headers.get("authorization"))
            return await handler(request, *args)  # type: ignore[no-any-return]

        return endpoint

    async def body_of(request: Request) -> Any:
        return parse_json(await request.body())  # within MAX_BODY: BodySizeLimit saw to it

    batchers: dict[tuple[str, int, int, float], MicroBatcher] = {}
    arriving = [0]  # requests being read and checked, not yet at the model: batching waits for them

    def batcher_for(served: Serving, loaded: Loaded) -> MicroBatcher | None:
        d = served.deployment
        if d.max_batch <= 1:
            return None
        key = (d.name, loaded.version, d.max_batch, d.max_wait_ms)
        found = batchers.get(key)
        if found is None:
            found = batchers[key] = MicroBatcher(
                loaded.model.predict_prepared, d.max_batch, d.max_wait_ms, lambda: arriving[0]
            )
        return found

    class Arrival:
        """Counts a request from its first byte until it reaches the model (or fails)."""

        def __init__(self) -> None:
            arriving[0] += 1
            self.open = True

        def close(self) -> None:
            if self.open:
                self.open = False
                arriving[0] -= 1

    async def predict(
        name: str, frame: Any, pinned: int | None, request_id: str, arrival: Arrival
    ) -> tuple[Loaded, Any, BackgroundTask | None]:
        served = state.get(name)
        if served.deployment.stable not in served.versions:
            raise _NotReady(name, served.problem)
        started = time.perf_counter()
        if pinned is not None:
            if pinned not in served.versions:
                raise NotFound(
                    f"deployment {name!r} does not serve version {pinned}",
                    hint=f"it serves {sorted(served.versions)}",
                )
            chosen, shadow = served.versions[pinned], None
        elif served.deployment.strategy.value == "ab" and served.deployment.candidate is not None:
            arrival.close()
            return _predict_ab(served, frame, request_id, started)
        else:
            route = routing.route(served.deployment, random.random())
            chosen = served.versions[route.version]
            shadow = served.versions.get(route.shadow) if route.shadow is not None else None
        prepared = chosen.model.prepare(frame)
        batcher = batcher_for(served, chosen) if pinned is None else None
        arrival.close()
        try:
            if batcher is not None:
                outputs = await batcher.submit(prepared)
            else:
                outputs = chosen.model.predict_prepared(prepared)
        except (
            ValueError,
            TypeError,
            KeyError,
        ) as exc:  # the model refused input the signature let in
            raise _ModelRefused(name, chosen.version, exc) from exc
        except Exception as exc:  # the model itself broke: a 500, counted against its version
            logging.getLogger(__name__).exception("%s version %s failed", name, chosen.version)
            raise _ModelFailed(name, chosen.version, exc) from exc
        elapsed = time.perf_counter() - started
        _observe(name, chosen.version, outputs, elapsed, len(frame))
        if log is None and shadow is None:  # nothing runs after the answer: no task to schedule
            return chosen, outputs, None
        task = BackgroundTask(
            _after, served, prepared, outputs, chosen, shadow, request_id, elapsed
        )
        return chosen, outputs, task

    def _predict_ab(served: Serving, frame: Any, request_id: str, started: float) -> Any:
        import numpy as np
        import pandas as pd

        key = served.deployment.sticky_key
        if key not in frame.columns:
            raise InvalidArgument(f"this A/B test routes by {key!r}: send it with every row")
        variants = routing.route_rows(served.deployment, frame[key].tolist())
        outputs: list[Any] = [None] * len(frame)
        first: Loaded | None = None
        prepared_parts = []
        for version in dict.fromkeys(variants):
            rows = [i for i, v in enumerate(variants) if v == version]
            loaded = served.versions[version]
            first = first or loaded
            part = loaded.model.prepare(frame.iloc[rows])
            predicted = np.asarray(loaded.model.predict_prepared(part)).tolist()
            for i, value in zip(rows, predicted, strict=True):
                outputs[i] = value
            prepared_parts.append(part.assign(**{"_version": version, "_row": rows}))
        elapsed = time.perf_counter() - started
        assert first is not None
        for version in set(variants):
            _observe(
                served.deployment.name,
                version,
                [o for o, v in zip(outputs, variants, strict=True) if v == version],
                elapsed,
                variants.count(version),
            )
        prepared = pd.concat(prepared_parts).sort_values("_row")
        versions = prepared.pop("_version").tolist()
        prepared = prepared.drop(columns="_row")
        task = BackgroundTask(
            _log_rows,
            served.deployment.name,
            prepared,
            outputs,
            versions,
            request_id,
            elapsed,
            declared=first.log_types,
        )
        return first, outputs, task

    def _observe(name: str, version: int, outputs: Any, elapsed: float, rows: int) -> None:
        labels = (name, str(version))
        metrics.requests.labels(*labels).inc()
        metrics.latency.labels(*labels).observe(elapsed)
        metrics.rows.labels(*labels).inc(rows)
        values = metrics.values.labels(*labels)
        for value in _numbers(outputs)[:100]:
            values.observe(value)

    def _after(
        served: Serving,
        prepared: Any,
        outputs: Any,
        chosen: Loaded,
        shadow: Loaded | None,
        request_id: str,
        elapsed: float,
    ) -> None:
        shadow_outputs = None
        if shadow is not None:  # after the answer was sent: the caller never waits for it
            try:
                shadow_outputs = codecs.predictions_list(
                    shadow.model.predict_prepared(shadow.model.prepare(prepared))
                )
            except Exception:
                metrics.shadow_errors.labels(served.deployment.name, str(shadow.version)).inc()
        _log_rows(
            served.deployment.name,
            prepared,
            codecs.predictions_list(outputs),
            [chosen.version] * len(prepared),
            request_id,
            elapsed,
            shadow.version if shadow else None,
            shadow_outputs,
            chosen.scorer,
            chosen.log_types,
        )

    def _log_rows(
        name: str,
        prepared: Any,
        outputs: list[Any],
        versions: list[int],
        request_id: str,
        elapsed: float,
        shadow_version: int | None = None,
        shadow_outputs: list[Any] | None = None,
        scorer: Any = None,
        declared: dict[str, Any] | None = None,
    ) -> None:
        if log is not None:  # a tuple now; the writer builds the table once a second
            log.append_predictions(
                name,
                Logged(
                    request_id,
                    time.time(),
                    versions,
                    elapsed * 1e3,
                    prepared,
                    outputs,
                    shadow_version,
                    shadow_outputs,
                    scorer,
                    declared,
                ),
            )

    def answer(
        body: dict[str, Any], chosen: Loaded, request_id: str, task: BackgroundTask | None
    ) -> JSONResponse:
        headers = {"x-request-id": request_id, "x-model-version": str(chosen.version)}
        return JSONResponse(body, headers=headers, background=task)

    def request_id_of(request: Request, given: Any = None) -> str:
        """The caller's request id (the OIP ``id``, else ``x-request-id``) when it is at most
        128 printable ASCII characters, as a header can carry it; else a new one."""
        for candidate in (given, request.headers.get("x-request-id")):
            if _printable_id(candidate):
                return str(candidate)
        return uuid.uuid4().hex

    # -- routes ------------------------------------------------------------------------
    async def live(_: Request) -> Response:
        return JSONResponse({"live": True})

    async def ready(_: Request) -> Response:
        return JSONResponse({"ready": state.ready}, status_code=200 if state.ready else 503)

    async def model_metadata(request: Request) -> Response:
        served = state.get(request.path_params["name"])
        loaded = served.versions.get(served.deployment.stable or -1)
        columns = loaded.model.signature.inputs if loaded and loaded.model.signature else ()
        return JSONResponse(
            {
                "name": served.deployment.name,
                "versions": [str(v) for v in sorted(served.versions)],
                "platform": f"shipway-{loaded.model.flavor}" if loaded else "shipway",
                "inputs": [
                    {
                        "name": c.name,
                        "datatype": _SIGNATURE_TO_OIP.get(c.type, "BYTES"),
                        "shape": [-1],
                    }
                    for c in columns
                ],
                "outputs": [{"name": "predict", "datatype": "FP64", "shape": [-1]}],
            }
        )

    async def model_ready(request: Request) -> Response:
        served = state.get(request.path_params["name"])
        version = request.path_params.get("version")
        ok = (
            served.deployment.stable in served.versions
            if version is None
            else int(version) in served.versions
        )
        return JSONResponse(
            {"name": served.deployment.name, "ready": ok}, status_code=200 if ok else 503
        )

    async def infer(request: Request, arrival: Arrival) -> Response:
        name = request.path_params["name"]
        pinned = request.path_params.get("version")
        served = state.get(name)
        loaded = served.versions.get(served.deployment.stable or -1)
        frame, given_id = codecs.oip_request(
            await body_of(request), loaded.columns if loaded else None
        )
        request_id = request_id_of(request, given_id)
        chosen, outputs, task = await predict(
            name, frame, int(pinned) if pinned else None, request_id, arrival
        )
        return answer(
            codecs.oip_response(name, chosen.version, request_id, outputs), chosen, request_id, task
        )

    async def plain(request: Request, arrival: Arrival) -> Response:
        name = request.path_params["name"]
        frame = codecs.plain_request(await body_of(request))
        request_id = request_id_of(request)
        chosen, outputs, task = await predict(name, frame, None, request_id, arrival)
        body = {
            "predictions": codecs.predictions_list(outputs),
            "model_version": chosen.version,
            "request_id": request_id,
        }
        return answer(body, chosen, request_id, task)

    async def invocations(request: Request, arrival: Arrival) -> Response:
        if len(state.names) != 1:
            raise InvalidArgument(
                "/invocations needs a server with one deployment",
                hint=f"use /v1/models/NAME/predict with NAME one of {', '.join(state.names)}",
            )
        name = state.names[0]
        served = state.get(name)
        loaded = served.versions.get(served.deployment.stable or -1)
        frame = codecs.invocations_request(
            await body_of(request), loaded.columns if loaded else None
        )
        request_id = request_id_of(request)
        chosen, outputs, task = await predict(name, frame, None, request_id, arrival)
        return answer({"predictions": codecs.predictions_list(outputs)}, chosen, request_id, task)

    def counted(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            arrival = Arrival()
            metrics.in_flight.inc()
            try:
                return await handler(request, arrival)  # type: ignore[no-any-return]
            finally:
                metrics.in_flight.dec()
                arrival.close()

        return endpoint

    async def feedback(request: Request) -> Response:
        import pandas as pd

        body = await body_of(request)
        output_specs: dict[str, Any] = {}  # deployment -> the output a label must match
        records = body.get("records") if isinstance(body, dict) and "records" in body else [body]
        if not isinstance(records, list) or not records:
            raise InvalidArgument(
                "feedback is {'request_id' or 'key', 'label'} or {'records': [...]}"
            )
        rows = []
        for i, record in enumerate(records):
            if (
                not isinstance(record, dict)
                or "label" not in record
                or not (
                    isinstance(record.get("request_id"), str) or isinstance(record.get("key"), dict)
                )
            ):
                raise InvalidArgument(
                    f"feedback record {i} needs 'label' and a 'request_id' or a 'key' object"
                )
            deployment = record.get("deployment") or (
                state.names[0] if len(state.names) == 1 else None
            )
            if deployment not in state.names:
                raise InvalidArgument(
                    f"feedback record {i} needs 'deployment', one of {', '.join(state.names)}"
                )
            row = record.get("row")
            if row is not None and (not isinstance(row, int) or isinstance(row, bool) or row < 0):
                raise InvalidArgument(
                    f"feedback record {i}: 'row' is the row's position in its request (0, 1, …)"
                )
            if isinstance(record.get("key"), dict) and not all(
                isinstance(v, str | int | float | bool) for v in record["key"].values()
            ):
                raise InvalidArgument(
                    f"feedback record {i}: each value of 'key' is one number or text, as logged"
                )
            if isinstance(record.get("request_id"), str) and len(record["request_id"]) > 128:
                raise InvalidArgument(
                    f"feedback record {i}: a request id has at most 128 characters"
                )
            label = _checked_label(
                record["label"], output_specs.setdefault(deployment, _output_of(deployment)), i
            )
            rows.append(
                {
                    "deployment": deployment,
                    "request_id": record.get("request_id"),
                    "row": row,
                    "key": json.dumps(record["key"], sort_keys=True) if "key" in record else None,
                    "label": label,
                    "timestamp": time.time(),
                }
            )
        if log is not None:
            frame = pd.DataFrame(rows)
            for deployment, part in frame.groupby("deployment"):
                spec = output_specs[str(deployment)]
                declared = {"label": arrow_type(spec.type)} if spec is not None else {}
                log.append(
                    GROUND_TRUTH,
                    str(deployment),
                    part.drop(columns="deployment"),
                    declared={k: v for k, v in declared.items() if v is not None},
                )
        return JSONResponse({"accepted": len(rows)}, status_code=202)

    def _output_of(deployment: str) -> Any:
        served = state.get(deployment)
        loaded = served.versions.get(served.deployment.stable or -1)
        return loaded.output_spec if loaded is not None else None

    async def status(_: Request) -> Response:
        batching = [
            {"deployment": k[0], "version": k[1], "batches": b.batches, "rows": b.rows}
            for k, b in batchers.items()
        ]
        return JSONResponse(
            {
                "deployments": state.status(),
                "batching": batching,
                "prediction_log": {
                    "pending": log.pending,
                    "dropped": log.dropped,
                    "written": log.written,
                }
                if log
                else None,
            }
        )

    async def render_metrics(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    infer, plain, invocations = authorized(infer), authorized(plain), authorized(invocations)
    routes = [  # health and /metrics stay open, for probes and scrapers
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/v2/models/{name}", authorized(model_metadata)),
        Route("/v2/models/{name}/versions/{version:int}", authorized(model_metadata)),
        Route("/v2/models/{name}/ready", model_ready),
        Route("/v2/models/{name}/versions/{version:int}/ready", model_ready),
        Route("/v2/models/{name}/infer", counted(infer), methods=["POST"]),
        Route("/v2/models/{name}/versions/{version:int}/infer", counted(infer), methods=["POST"]),
        Route("/v1/models/{name}/predict", counted(plain), methods=["POST"]),
        Route("/invocations", counted(invocations), methods=["POST"]),
        Route("/v1/feedback", authorized(feedback), methods=["POST"]),
        Route("/v1/status", authorized(status)),
        Route("/metrics", render_metrics),
    ]

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

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ShipwayError: _shipway_error,
            404: _not_found,
            405: _not_allowed,
            Exception: _bug,
        },
        middleware=[Middleware(BodySizeLimit)],
    )

    app.state.metrics = metrics
    return app


class _ModelRefused(ShipwayError):
    code = "MODEL_REFUSED_INPUT"
    http_status = 422

    def __init__(self, name: str, version: int, exc: Exception) -> None:
        self.version = version
        super().__init__(
            f"{name} version {version} could not predict this input: {exc}",
            hint="the values passed the signature's checks, but the model does not accept them",
        )


class _ModelFailed(ShipwayError):
    code = "MODEL_FAILED"
    http_status = 500

    def __init__(self, name: str, version: int, exc: Exception) -> None:
        self.version = version
        super().__init__(
            f"{name} version {version} failed: {type(exc).__name__}: {exc}",
            hint="the model raised an error; the server log has its traceback",
        )


class _NotReady(ShipwayError):
    code = "NOT_READY"
    http_status = 503

    def __init__(self, name: str, problem: str | None) -> None:
        super().__init__(f"deployment {name!r} is not ready" + (f": {problem}" if problem else ""))


def _error(code: str, message: str, status: int, details: Any = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status
    )


async def _shipway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipwayError)
    _count_error(request, exc.http_status, getattr(exc, "version", None))
    return JSONResponse(exc.to_dict(), status_code=exc.http_status)


def _count_error(request: Request, status: int, version: int | None = None) -> None:
    """In /metrics, and in the log's health record so monitoring sees the error rate."""
    metrics = request.app.state.metrics
    name = request.path_params.get("name") or "-"
    metrics.errors.labels(name, str(status)).inc()
    if metrics.log is not None and name != "-":
        metrics.log.note_error(name, status, version)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error("NOT_FOUND", f"no route {request.url.path}", 404)


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return _error(
        "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.url.path}", 405
    )


async def _bug(request: Request, exc: Exception) -> Response:
    import logging

    logging.getLogger(__name__).exception("unhandled error in the model server")
    _count_error(request, 500)
    return _error("INTERNAL", "the model server failed; this is a bug, please report it", 500)


def _printable_id(value: Any) -> bool:
    return (
        isinstance(value, str) and 0 < len(value) <= 128 and value.isascii() and value.isprintable()
    )


def _checked_label(value: Any, spec: Any, index: int) -> Any:
    """A label as the model's output would be: a number for a model that predicts numbers,
    text for one that predicts text; never an object, a list or a non-finite number."""
    import math

    from shipway.models.signature import ColumnSpec, check_value

    if value is None or isinstance(value, dict | list):
        raise InvalidArgument(
            f"feedback record {index}: 'label' is one value (a number, text or a boolean), "
            f"not {type(value).__name__ if value is not None else 'null'}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"feedback record {index}: 'label' is a finite number, not {value}")
    if spec is None:
        return value
    if isinstance(value, bool) and spec.type in ("integer", "long", "float", "double"):
        value = int(value)  # true/false for a model that predicts 1/0
    try:
        return check_value(ColumnSpec("label", spec.type), value)
    except InvalidArgument as exc:
        raise InvalidArgument(
            f"feedback record {index}: {exc.message}; the model predicts {spec.type} values",
            details=exc.details,
        ) from None


def _numbers(outputs: Any) -> list[float]:
    import numpy as np

    array = np.asarray(outputs)
    if array.dtype.kind not in "biuf":
        return []
    return array.reshape(-1).astype(float).tolist()  # type: ignore[no-any-return]
