"""The seams of the runtime services: one interface per noun, each with a local implementation
(on the stores) and a remote one (through ``shipway server``), chosen by the session.

Tracking, the registry and datasets have theirs in their own packages
(:class:`~shipway.tracking.backend.TrackingBackend`,
:class:`~shipway.registry.backend.RegistryBackend`,
:class:`~shipway.data.backend.DatasetBackend`); the nouns of the runtime layer are declared
here, below the packages that implement them, so the session can hold them without knowing
those packages. Every type they speak is a plain record of :mod:`shipway.types`.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Protocol

from shipway.types import Alert, AuditEvent, Deployment, TokenInfo, WindowReport


class DeploymentBackend(Protocol):
    """Deployments: which versions serve, how traffic splits, and the audit of every change."""

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
    ) -> Deployment: ...

    def follow(self, name: str, model: str, alias: str) -> Deployment: ...

    def set_weight(self, name: str, weight: float, reason: str = "") -> Deployment: ...

    def set_batching(
        self, name: str, max_batch: int, max_wait_ms: float = 2.0, reason: str = ""
    ) -> Deployment: ...

    def promote(self, name: str, reason: str = "") -> Deployment: ...

    def rollback(self, name: str, reason: str = "") -> Deployment: ...

    def get(self, name: str) -> Deployment: ...

    def list(self) -> list[Deployment]: ...

    def history(self, name: str) -> builtins.list[AuditEvent]: ...

    def revisions(self, names: Sequence[str]) -> dict[str, int]: ...


class PredictionBackend(Protocol):
    """The prediction log, its late labels and the servers' traffic profiles."""

    def read(
        self,
        deployment: str,
        kind: str = "predictions",
        *,
        start: float | None = None,
        end: float | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any: ...

    def log_ground_truth(self, deployment: str, labels: Any) -> int: ...

    def writer(self) -> Any:
        """A ``PredictionLog`` that writes where this backend keeps the log (batch scoring,
        and model servers, use it)."""
        ...

    def traffic_profile(
        self,
        deployment: str,
        *,
        version: int | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> Any: ...


class MonitoringBackend(Protocol):
    """Window reports of a deployment's traffic, judged against its reference."""

    def monitor(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        rules: Sequence[Any] | None = None,
        replay: bool = False,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> list[WindowReport]: ...

    def report(
        self,
        deployment: str,
        *,
        window: str | int = "day",
        label: str | None = None,
        reference: Any = None,
        sensitive: Sequence[str] | None = None,
        start: float | None = None,
        end: float | None = None,
        source: str = "auto",
    ) -> str: ...

    def run_round(self, *, replay: bool = False) -> list[Alert]: ...


class AlertBackend(Protocol):
    """Alerts raised by monitoring, and what people do with them."""

    def list(
        self, *, deployment: str | None = None, include_resolved: bool = False
    ) -> list[Alert]: ...

    def get(self, alert_id: int) -> Alert: ...

    def acknowledge(self, alert_id: int) -> Alert: ...

    def resolve(self, alert_id: int) -> Alert: ...


class TokenBackend(Protocol):
    """API tokens: made once (the secret is shown only then), listed, revoked."""

    def create(self, user: str, role: str) -> tuple[str, TokenInfo]: ...

    def list(self) -> list[TokenInfo]: ...

    def revoke(self, token_id: str) -> None: ...

    def verify(self, token: str) -> TokenInfo | None:
        """Whose a presented token is: None when it is unknown, wrong or revoked."""
        ...

    def any_active(self) -> bool:
        """Whether any token is active (then every call needs one)."""
        ...


class LoopBackend(Protocol):
    """Continuous-training loops as the controller left them (read only: the controller
    moves them)."""

    def status(self, deployment: str | None = None) -> list[dict[str, Any]]: ...
