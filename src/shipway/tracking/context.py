"""The process-wide context of the fluent API: settings, backends and the active runs.

Settings are resolved here, at the edge, once: on :func:`configure` or on first use. The
tracking URI picks the backend: a database URL (or none) means the local stores, an
``http(s)://`` URL a ``shipway server``.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from shipway.config import Settings

# Backends by name, resolved lazily (the remote client is an adapter above this layer and
# is imported only when a tracking URI asks for it).
TRACKING_BACKENDS = {
    "local": "shipway.tracking.client:open_local",
    "remote": "shipway.client:RemoteTracking",
}
REGISTRY_BACKENDS = {
    "local": "shipway.registry.service:Registry",
    "remote": "shipway.client:RemoteRegistry",
}


def resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def backend_name(settings: Settings) -> str:
    return "remote" if settings.is_remote else "local"


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tracking: Any = None
        self._lock = threading.Lock()
        self.run_stack: list[Any] = []  # ActiveRun objects, innermost last

    @property
    def tracking(self) -> Any:
        """The tracking backend (:class:`TrackingBackend`), opened on first use."""
        if self._tracking is None:
            with self._lock:
                if self._tracking is None:
                    opener = resolve(TRACKING_BACKENDS[backend_name(self.settings)])
                    self._tracking = opener(self.settings)
        return self._tracking

    @property
    def registry(self) -> Any:
        """The model registry on the same backend as :attr:`tracking`."""
        return resolve(REGISTRY_BACKENDS[backend_name(self.settings)])(self.tracking)

    @property
    def stores(self) -> Any:
        stores = getattr(self.tracking, "stores", None)
        if stores is None:
            from shipway.errors import InvalidArgument

            raise InvalidArgument(
                f"this needs direct access to the stores, and {self.settings.tracking_uri} is a "
                "shipway server",
                hint="run it on the server's machine, or point SHIPWAY_TRACKING_URI at the database",
            )
        return stores

    def close(self) -> None:
        if self._tracking is not None:
            self._tracking.close()
            self._tracking = None


_current: Context | None = None
_guard = threading.Lock()


def configure(**overrides: Any) -> Settings:
    """Point the fluent API at a store: arguments win over ``SHIPWAY_*`` and ``shipway.toml``."""
    global _current
    with _guard:
        if _current is not None:
            _current.close()
        _current = Context(Settings.resolve(overrides))
        return _current.settings


def current() -> Context:
    global _current
    if _current is None:
        with _guard:
            if _current is None:
                _current = Context(Settings.resolve())
    return _current
