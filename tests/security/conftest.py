"""A live ``shipway server`` with tokens for every role, and a user's fluent API through it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipway.config import Settings
from tests.client.conftest import LiveServer, client_settings
from tests.client.conftest import live_server as live_server  # the fixture, for these tests too
from tests.conftest import METADATA_BACKENDS, make_settings

ROLES = {"vera": "viewer", "ed": "editor", "alice": "editor", "apollo": "approver", "ada": "admin"}


@dataclass
class Secured:
    server: LiveServer
    tokens: dict[str, str]  # user -> secret
    tmp_path: Path

    @property
    def url(self) -> str:
        return self.server.url

    def http(self, user: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)

    def settings_for(self, user: str) -> Settings:
        return client_settings(self.tmp_path / user, self.url, token=self.tokens[user], user=user)

    @contextmanager
    def fluent(self, user: str) -> Iterator[Any]:
        """``import shipway as sw`` pointed at the server with ``user``'s token."""
        import shipway
        from shipway import session as context

        previous = context._current
        context._current = context.Session(self.settings_for(user))
        try:
            yield shipway
        finally:
            context._current.close()
            context._current = previous


def _secured(settings: Settings, tmp_path: Path) -> Iterator[Secured]:
    from shipway.store import open_stores
    from shipway.store.token_store import TokenStore

    stores = open_stores(settings)
    tokens = {user: TokenStore(stores.db).create(user, role)[0] for user, role in ROLES.items()}
    stores.close()
    server = LiveServer(settings)
    yield Secured(server, tokens, tmp_path)
    server.stop()


@pytest.fixture
def secured(settings: Settings, tmp_path: Path) -> Iterator[Secured]:
    """A live server on the embedded store, with one token per role (see ``ROLES``)."""
    yield from _secured(settings, tmp_path)


@pytest.fixture(params=METADATA_BACKENDS)
def secured_any(request: Any, tmp_path: Path) -> Iterator[Secured]:
    """The same on every metadata backend the machine offers (SQLite, PostgreSQL)."""
    yield from _secured(make_settings(tmp_path, request.param, "local", request), tmp_path)


class LiveModelServer:
    """``open_model_server(settings, targets)`` served by uvicorn on a free loopback port."""

    def __init__(self, settings: Settings, targets: list[str], **options: Any) -> None:
        import socket
        import threading
        import time

        import uvicorn

        from shipway.server.runner import QuietServer
        from shipway.serving.server import open_model_server

        self.model_server = open_model_server(settings, targets, poll_seconds=3600, **options)
        self.log = self.model_server.log
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.model_server.app, log_level="warning", lifespan="on")
        self.server = QuietServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:  # readiness, not timing: the deadline bounds a broken start
            assert self.thread.is_alive() and time.monotonic() < deadline, "no model server"
            time.sleep(0.01)

    def http(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        """A clean stop: the log writes everything it holds."""
        self.server.should_exit = True
        self.server.wake()
        self.thread.join(timeout=60)
        self.sock.close()
        self.model_server.session.close()


@pytest.fixture
def model_server(settings: Settings) -> Iterator[Any]:
    """Start live model servers over the test's store: ``model_server("churn-live")``."""
    started: list[LiveModelServer] = []

    def start(*targets: str, **options: Any) -> LiveModelServer:
        server = LiveModelServer(settings, list(targets), **options)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.thread.is_alive():
            server.stop()
