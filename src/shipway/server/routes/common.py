"""Shared helpers of the routers: the clients, and records as JSON."""

from __future__ import annotations

import dataclasses
from enum import Enum
from typing import Any

from fastapi import Request


def tracking(request: Request) -> Any:
    return request.app.state.tracking


def registry(request: Request, who: Any) -> Any:
    """The registry acting as the caller, so the audit log names who did what."""
    from shipway.registry.service import Registry

    return Registry(request.app.state.tracking, actor=who.user)


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
    return obj
