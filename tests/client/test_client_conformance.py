"""The client conformance kit on both backends: the local stores and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.config import Settings
from shipway.testing import CLIENT_CHECKS
from tests.client.conftest import LiveServer, client_settings
from tests.conftest import POSTGRES_URL, WANT_S3, make_settings

# A server on the team setup too (PostgreSQL and S3), when this machine has them.
BACKENDS = ["local", "remote"] + (["remote-postgres-s3"] if POSTGRES_URL and WANT_S3 else [])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    from shipway.tracking.context import Context

    if request.param == "local":
        ctx = Context(settings)
        yield ctx.tracking, ctx.registry, ctx.stores
        ctx.close()
        return
    if request.param == "remote-postgres-s3":
        settings = make_settings(tmp_path, "postgres", "s3", request)
    server = LiveServer(settings)
    ctx = Context(client_settings(tmp_path, server.url))
    try:
        yield ctx.tracking, ctx.registry, server.stores
    finally:
        ctx.close()
        server.stop()


@pytest.mark.parametrize("check", CLIENT_CHECKS, ids=lambda c: c.__name__)
def test_backend_conforms(check: Any, backend: tuple[Any, Any, Any]) -> None:
    check(*backend)
