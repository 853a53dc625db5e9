"""The client conformance kit on both backends: the local stores and a live server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.config import Settings
from shipway.testing import CLIENT_CHECKS, SESSION_CHECKS
from tests.client.conftest import LiveServer, client_settings
from tests.conftest import POSTGRES_URL, WANT_S3, make_settings

# A server on the team setup too (PostgreSQL and S3), when this machine has them.
BACKENDS = ["local", "remote"] + (["remote-postgres-s3"] if POSTGRES_URL and WANT_S3 else [])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    from shipway.session import Session

    if request.param == "local":
        ctx = Session(settings)
        yield ctx.tracking, ctx.registry, ctx.stores
        ctx.close()
        return
    if request.param == "remote-postgres-s3":
        settings = make_settings(tmp_path, "postgres", "s3", request)
    server = LiveServer(settings)
    ctx = Session(client_settings(tmp_path, server.url))
    try:
        yield ctx.tracking, ctx.registry, server.stores
    finally:
        ctx.close()
        server.stop()


@pytest.mark.parametrize("check", CLIENT_CHECKS, ids=lambda c: c.__name__)
def test_backend_conforms(check: Any, backend: tuple[Any, Any, Any]) -> None:
    check(*backend)


@pytest.fixture(params=BACKENDS)
def session(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    """A fresh session: on the stores, or through a live server (on the team setup too)."""
    from shipway.session import Session

    if request.param == "local":
        ctx = Session(settings)
        yield ctx
        ctx.close()
        return
    if request.param == "remote-postgres-s3":
        settings = make_settings(tmp_path, "postgres", "s3", request)
    token = _admin_token(settings)  # a secured server: roles and audit hold through it
    server = LiveServer(settings)
    ctx = Session(client_settings(tmp_path, server.url, token=token, user="ops"))
    try:
        yield ctx
    finally:
        ctx.close()
        server.stop()


def _admin_token(settings: Settings) -> str:
    from shipway.store import open_stores
    from shipway.store.token_store import TokenStore

    stores = open_stores(settings)
    try:
        return TokenStore(stores.db).create("ops", "admin")[0]
    finally:
        stores.close()


@pytest.mark.parametrize("check", SESSION_CHECKS, ids=lambda c: c.__name__)
def test_session_conforms(check: Any, session: Any) -> None:
    check(session)
