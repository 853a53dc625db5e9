"""Loop state through ``shipway server``: the server's ``[loops.*]``, as its controller left
them (a viewer may read them)."""

from __future__ import annotations

from typing import Any

from shipway.client.deployments import transport_of
from shipway.services import LoopBackend
from shipway.session import Session


class RemoteLoops(LoopBackend):
    def __init__(self, session: Session) -> None:
        self.transport = transport_of(session)

    def status(self, deployment: str | None = None) -> list[dict[str, Any]]:
        params = {"deployment": deployment} if deployment is not None else None
        found: list[dict[str, Any]] = self.transport.json("GET", "/loops", params=params)
        return found
