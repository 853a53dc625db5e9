"""The application context: the settings, the stores and one backend per noun, built once.

A :class:`Session` is what the fluent API (``import shipway as sw``), the CLI and the servers
act through. Whether it works on the stores themselves or through a ``shipway server`` is a
property of the session, decided by the tracking URI: every noun has a local implementation
and a remote one behind one interface (:mod:`shipway.services` and the packages' own
``backend`` modules), and callers never know which they hold.

Implementations above this layer (the runtime services and the remote client) are named in
:data:`BACKENDS` and imported only when first used, so a session never pulls in a web
framework or an HTTP client it does not need.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from shipway.config import Settings
from shipway.errors import InvalidArgument

if TYPE_CHECKING:
    from shipway.data.backend import DatasetBackend
    from shipway.registry.backend import RegistryBackend
    from shipway.services import (
        AlertBackend,
        DeploymentBackend,
        LoopBackend,
        MonitoringBackend,
        PredictionBackend,
        TokenBackend,
    )
    from shipway.store import Stores
    from shipway.tracking.backend import TrackingBackend

# noun -> (local, remote): ``module:factory``, each called with the session. The local
# implementations of tracking, the registry, datasets and tokens live below this module and
# are built here (:func:`_local`); the others are named, and imported when first used.
BACKENDS: dict[str, tuple[str | None, str]] = {
    "tracking": (None, "shipway.client.tracking:RemoteTracking.of"),
    "registry": (None, "shipway.client.registry:RemoteRegistry.of"),
    "datasets": (None, "shipway.client.datasets:RemoteDatasets"),
    "tokens": (None, "shipway.client.tokens:RemoteTokens"),
    "deployments": (
        "shipway.serving.deployments:LocalDeployments",
        "shipway.client.deployments:RemoteDeployments",
    ),
    "predictions": (
        "shipway.serving.predictions:LocalPredictions",
        "shipway.client.predictions:RemotePredictions",
    ),
    "monitoring": (
        "shipway.automation.monitoring:LocalMonitoring",
        "shipway.client.monitoring:RemoteMonitoring",
    ),
    "alerts": (
        "shipway.monitoring.alert_backend:LocalAlerts",
        "shipway.client.alerts:RemoteAlerts",
    ),
    "loops": ("shipway.automation.status:LocalLoops", "shipway.client.loops:RemoteLoops"),
}


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def _local(session: Session, noun: str) -> Any:
    """The local implementations that live below the session, wired from its stores."""
    if noun == "tracking":
        from shipway.tracking.local import LocalTracking

        return LocalTracking(session.stores)
    if noun == "registry":
        from shipway.registry.local import LocalRegistry

        return LocalRegistry(session.tracking, session.stores, actor=session.actor)
    if noun == "datasets":
        from shipway.data.versions import LocalDatasets

        return LocalDatasets(session.stores, actor=session.actor)
    from shipway.store.token_store import TokenStore

    return TokenStore(session.stores.db)


class Session:
    """Settings, stores and services of one process (or of one server, for one caller)."""

    def __init__(self, settings: Settings, *, actor: str | None = None, **given: Any) -> None:
        """``given`` backends (``tracking=…``) are used as they are instead of being built."""
        unknown = set(given) - {*BACKENDS, "stores"}
        if unknown:
            raise InvalidArgument(f"a session has no backend {', '.join(sorted(unknown))}")
        self.__dict__.update(given)  # the cached properties find them already made
        self.settings = settings
        self.actor = actor or settings.user  # who acts: the settings' user, or a server's caller
        self.run_stack: list[Any] = []  # ActiveRun objects of the fluent API, innermost last
        self._lock = threading.RLock()
        self._owns_stores = True

    @property
    def is_remote(self) -> bool:
        return self.settings.is_remote

    @cached_property
    def stores(self) -> Stores:
        """The metadata database and the artifact store (a local session only)."""
        if self.is_remote:
            raise InvalidArgument(
                f"this needs the stores themselves, and {self.settings.store.tracking_uri} is a "
                "shipway server",
                hint="run it on the server's machine, or point SHIPWAY_TRACKING_URI at the database",
            )
        from shipway.store import open_stores

        return open_stores(self.settings)

    def _backend(self, noun: str) -> Any:
        local, remote = BACKENDS[noun]
        if self.is_remote:
            return _resolve(remote)(self)
        return _resolve(local)(self) if local else _local(self, noun)

    @cached_property
    def tracking(self) -> TrackingBackend:
        with self._lock:
            return cast("TrackingBackend", self._backend("tracking"))

    @cached_property
    def registry(self) -> RegistryBackend:
        with self._lock:
            return cast("RegistryBackend", self._backend("registry"))

    @cached_property
    def datasets(self) -> DatasetBackend:
        with self._lock:
            return cast("DatasetBackend", self._backend("datasets"))

    @cached_property
    def deployments(self) -> DeploymentBackend:
        with self._lock:
            return cast("DeploymentBackend", self._backend("deployments"))

    @cached_property
    def predictions(self) -> PredictionBackend:
        with self._lock:
            return cast("PredictionBackend", self._backend("predictions"))

    @cached_property
    def monitoring(self) -> MonitoringBackend:
        with self._lock:
            return cast("MonitoringBackend", self._backend("monitoring"))

    @cached_property
    def alerts(self) -> AlertBackend:
        with self._lock:
            return cast("AlertBackend", self._backend("alerts"))

    @cached_property
    def loops(self) -> LoopBackend:
        with self._lock:
            return cast("LoopBackend", self._backend("loops"))

    @cached_property
    def tokens(self) -> TokenBackend:
        with self._lock:
            return cast("TokenBackend", self._backend("tokens"))

    def acting_as(self, actor: str) -> Session:
        """The same stores and settings, acting as ``actor`` (a server's caller), so the audit
        log names who did what; the stores stay this session's to close."""
        other = Session(self.settings, actor=actor)
        other._owns_stores = False
        if "stores" in self.__dict__:
            other.__dict__["stores"] = self.stores
        if "tracking" in self.__dict__:
            other.__dict__["tracking"] = self.tracking
        return other

    def close(self) -> None:
        """Flush what is buffered and close what this session opened."""
        if "tracking" in self.__dict__:
            self.tracking.close()
        if self._owns_stores and "stores" in self.__dict__:
            self.stores.close()


_current: Session | None = None
_guard = threading.Lock()
_scoped: ContextVar[Session | None] = ContextVar("shipway_session", default=None)


def configure(**overrides: Any) -> Settings:
    """Point the fluent API at a store: arguments win over ``SHIPWAY_*`` and ``shipway.toml``."""
    global _current
    with _guard:
        if _current is not None:
            _current.close()
        _current = Session(Settings.resolve(overrides))
        return _current.settings


@contextmanager
def using(session: Session) -> Iterator[None]:
    """The fluent API acts through ``session`` meanwhile (a loop's pipeline in the controller,
    a check's smoke run), in this context only: other threads keep theirs, and a pipeline's
    steps, which run on threads of their own, are handed the context they were started in."""
    token = _scoped.set(session)
    try:
        yield
    finally:
        _scoped.reset(token)


def current() -> Session:
    """The session of this context (see :func:`using`), else the process's, made from the
    resolved settings on first use."""
    global _current
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _current is None:
        with _guard:
            if _current is None:
                _current = Session(Settings.resolve())
    return _current
