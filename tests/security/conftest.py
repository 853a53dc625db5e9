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
from tests.serving.conftest import LiveModelServer as LiveModelServer
from tests.serving.conftest import model_server as model_server  # the fixture, here too

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
    def fluent(self, user: str, **changes: Any) -> Iterator[Any]:
        """``import shipway as sw`` pointed at the server with ``user``'s token (and any
        ``changes`` to the user's settings, such as ``pipelines=...``)."""
        import dataclasses

        import shipway
        from shipway import session as context

        previous = context._current
        context._current = context.Session(dataclasses.replace(self.settings_for(user), **changes))
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
