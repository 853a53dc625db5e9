"""The process-wide context of the fluent API: settings, stores and the active runs.

Settings are resolved here, at the edge, once: on :func:`configure` or on first use.
"""

from __future__ import annotations

import threading
from typing import Any

from shipway.config import Settings


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tracking: Any = None
        self._lock = threading.Lock()
        self.run_stack: list[Any] = []  # ActiveRun objects, innermost last

    @property
    def tracking(self) -> Any:
        """The :class:`TrackingClient`, opening the stores on first use."""
        if self._tracking is None:
            with self._lock:
                if self._tracking is None:
                    from shipway.store import open_stores
                    from shipway.tracking.client import TrackingClient

                    self._tracking = TrackingClient(open_stores(self.settings))
        return self._tracking

    @property
    def stores(self) -> Any:
        return self.tracking.stores

    def close(self) -> None:
        if self._tracking is not None:
            self._tracking.buffer.close()
            self._tracking.stores.close()
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
