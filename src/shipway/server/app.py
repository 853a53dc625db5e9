"""``create_app(settings)``: the control plane's ASGI application."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from shipway import __version__
from shipway.config import Settings
from shipway.server import errors, openapi, sso, ui
from shipway.web.cross_site import CrossSiteGuard
from shipway.web.limits import BodySizeLimit

API = "/api/v1"


def create_app(settings: Settings) -> FastAPI:
    """The REST API, health checks and metrics over the stores ``settings`` names."""
    from shipway.automation.controller import Controller
    from shipway.server.idempotency import Idempotency
    from shipway.server.metrics import ApiMetrics, MetricsMiddleware
    from shipway.server.routes import (
        datasets,
        deployments,
        environments,
        experiments,
        health,
        loops,
        me,
        monitoring,
        predictions,
        registry,
        runs,
        tokens,
    )
    from shipway.server.schemas import ERROR_RESPONSES
    from shipway.session import Session
    from shipway.store.idempotency_store import IdempotencyStore

    session = Session(settings)
    session.stores  # noqa: B018 - opened now, so a bad store URL fails at start, not on a request
    # every [monitoring] interval_minutes: monitoring, then each [loops.*] one move along
    scheduler = Controller(session, background=True)  # pipelines train on threads of their own

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> Any:
        scheduler.start()  # monitors, alert rules and continuous-training loops
        yield
        scheduler.stop()
        session.close()

    app = FastAPI(
        title="shipway",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN: nothing here is fetched from the internet
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.session = session
    app.state.tracking = session.tracking
    app.state.monitoring = scheduler
    app.state.tokens = session.tokens
    sso.install(app, settings.server)  # before any request: who may sign in, and how
    metrics = ApiMetrics()
    errors.install(app)
    app.add_middleware(Idempotency, store=IdempotencyStore(session.stores.db))
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodySizeLimit, exempt=_streamed_upload)
    app.add_middleware(CrossSiteGuard)  # outermost: a forged request is refused before all else
    app.add_route("/metrics", metrics.render, include_in_schema=False)
    app.include_router(health.router)
    nouns = (
        experiments,
        runs,
        registry,
        environments,
        datasets,
        deployments,
        predictions,
        monitoring,
        loops,
        tokens,
        me,
    )
    for module in nouns:
        app.include_router(module.router, prefix=API, responses=ERROR_RESPONSES)
    openapi.install(app, [("", health.router)] + [(API, module.router) for module in nouns])
    ui.install(app)
    return app


def _streamed_upload(scope: Any) -> bool:
    """Artifact uploads stream to disk, whatever their size."""
    return bool(scope["method"] == "PUT" and "/artifacts/" in scope["path"])
