"""Prometheus metrics of the API: requests, errors and latency per route."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipway.serving.metrics import with_process


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = with_process(CollectorRegistry())
        self.requests = Counter(
            "shipway_api_requests_total",
            "API requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shipway_api_request_seconds",
            "API request latency",
            ["method", "route"],
            registry=self.registry,
        )

    def render(self, _: Request) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4")


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}
        requested = scope["path"]  # routing into an included router rewrites scope["path"]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            path = _template(scope, requested)
            self.metrics.requests.labels(scope["method"], path, str(status["code"])).inc()
            self.metrics.latency.labels(scope["method"], path).observe(time.perf_counter() - start)


def _template(scope: Scope, requested: str) -> str:
    """The request path with its parameters put back as names: ids would explode cardinality."""
    if scope.get("route") is None:
        return "unmatched"
    path = requested
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path
