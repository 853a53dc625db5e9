"""Deployments through ``shipway server``: the server decides and audits every change."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from shipway.client.tracking import RemoteTracking, _seg
from shipway.client.transport import Transport
from shipway.registry.backend import version_number
from shipway.services import DeploymentBackend
from shipway.session import Session
from shipway.types import AuditEvent, Deployment, from_plain


def seg(value: str) -> str:

    return _seg(value)


def transport_of(session: Session) -> Transport:
    """The transport of the session's remote tracking: one connection pool for every noun."""

    tracking = session.tracking
    assert isinstance(tracking, RemoteTracking), "a remote backend under a local session"
    return tracking.transport


class RemoteDeployments(DeploymentBackend):
    def __init__(self, session: Session) -> None:
        self.transport = transport_of(session)

    def _one(self, method: str, path: str, body: dict[str, object]) -> Deployment:
        return from_plain(Deployment, self.transport.json(method, path, json=body))

    def deploy(
        self,
        name: str,
        *,
        model: str,
        version: int | str,
        strategy: str = "direct",
        weight: float | None = None,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Deployment:

        body = {
            "model": model,
            "version": version_number(version),
            "strategy": str(strategy),
            "weight": weight,
            "sticky_key": sticky_key,
            "reason": reason,
        }
        return self._one("PUT", f"/deployments/{seg(name)}", body)

    def follow(self, name: str, model: str, alias: str) -> Deployment:
        return self._one(
            "POST", f"/deployments/{seg(name)}/follow", {"model": model, "alias": alias}
        )

    def set_weight(self, name: str, weight: float, reason: str = "") -> Deployment:
        body = {"weight": weight, "reason": reason}
        return self._one("POST", f"/deployments/{seg(name)}/weight", body)

    def set_batching(
        self, name: str, max_batch: int, max_wait_ms: float = 2.0, reason: str = ""
    ) -> Deployment:
        body = {"max_batch": max_batch, "max_wait_ms": max_wait_ms, "reason": reason}
        return self._one("POST", f"/deployments/{seg(name)}/batching", body)

    def promote(self, name: str, reason: str = "") -> Deployment:
        return self._one("POST", f"/deployments/{seg(name)}/promote", {"reason": reason})

    def rollback(self, name: str, reason: str = "") -> Deployment:
        return self._one("POST", f"/deployments/{seg(name)}/rollback", {"reason": reason})

    def get(self, name: str) -> Deployment:
        return from_plain(Deployment, self.transport.json("GET", f"/deployments/{seg(name)}"))

    def list(self) -> list[Deployment]:
        return [from_plain(Deployment, d) for d in self.transport.json("GET", "/deployments")]

    def history(self, name: str) -> builtins.list[AuditEvent]:
        found = self.transport.json("GET", f"/deployments/{seg(name)}/history")
        return [from_plain(AuditEvent, e) for e in found]

    def revisions(self, names: Sequence[str]) -> dict[str, int]:
        if not names:
            return {}
        found = self.transport.json("GET", "/deployments", params={"names": list(names)})
        return {str(k): int(v) for k, v in found.items()}
