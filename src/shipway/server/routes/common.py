"""Shared helpers of the routers: the server's session acting as the caller, and records as JSON."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from fastapi import Request

from shipway.registry.backend import RegistryBackend
from shipway.server.auth import Principal
from shipway.session import Session
from shipway.tracking.local import LocalTracking
from shipway.types import json_number


def _own(request: Request) -> Session:
    own: Session = request.app.state.session  # set once, when the app is made
    return own


def session(request: Request, who: Principal) -> Session:
    """The server's session acting as the caller, so the audit log names who did what."""
    return _own(request).acting_as(who.user)


def tracking(request: Request) -> LocalTracking:
    """The server's own tracking backend: always on its stores."""
    backend = _own(request).tracking
    assert isinstance(backend, LocalTracking)  # a server's stores are its own
    return backend


def registry(request: Request, who: Principal) -> RegistryBackend:
    """The registry acting as the caller."""
    return session(request, who).registry


def one(obj: Any) -> dict[str, Any]:
    """A record as a JSON object."""
    value = plain(obj)
    assert isinstance(value, dict)
    return value


def many(objs: Any) -> list[Any]:
    """Records (or values) as a JSON list."""
    value = plain(objs)
    assert isinstance(value, list)
    return value


def plain(obj: Any) -> Any:
    """Domain records (frozen dataclasses, enums) as JSON-ready values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if isinstance(obj, float):  # JSON has no NaN or infinity: name them, as MLflow does
        return json_number(obj)
    return obj


def answers(model: Any, status: int = 200, description: str = "Done") -> dict[str, Any]:
    """Route options that document the answer as ``model`` (a record type) without making
    FastAPI validate it again: the records are checked where they are made, and their JSON
    form names NaN and infinities (see ``plain``), which a float field would refuse."""
    return {
        "response_model": None,
        "responses": {status: {"model": model, "description": description}},
    }
