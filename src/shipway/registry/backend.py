"""The one registry interface, with two implementations: the local stores and a remote server.

:class:`shipway.registry.local.LocalRegistry` decides policy itself, inside the store's write
transaction; ``shipway.client.RemoteRegistry`` asks ``shipway server``, which runs that same
LocalRegistry, so policy is decided in one place whichever the caller uses.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from shipway.errors import InvalidArgument
from shipway.registry.uris import RunRef, parse_uri
from shipway.tracking.backend import TrackingBackend
from shipway.tracking.model_logging import load_run_model
from shipway.types import Approval, AuditEvent, ModelVersion, RegisteredModel, Stage


class RegistryBackend(ABC):
    tracking: TrackingBackend

    @property
    def actor(self) -> str:
        """Who the audit log names for this registry's changes."""
        return self.tracking.user

    @abstractmethod
    def register(self, run_or_uri: Any, name: str, description: str = "") -> ModelVersion:
        """Register the model logged by a run (or at a ``runs:/`` URI) as the next version."""

    @abstractmethod
    def get_model(self, name: str) -> RegisteredModel: ...

    @abstractmethod
    def list_models(self) -> list[tuple[RegisteredModel, int, dict[str, int]]]: ...

    @abstractmethod
    def list_versions(self, name: str) -> list[ModelVersion]: ...

    @abstractmethod
    def get_version(self, name: str, version: int | str) -> ModelVersion: ...

    @abstractmethod
    def resolve(self, uri: str) -> ModelVersion:
        """The version a ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS_OR_STAGE`` URI names."""

    @abstractmethod
    def promote(
        self, name: str, version: int | str, to: str | Stage, reason: str = ""
    ) -> ModelVersion: ...

    @abstractmethod
    def approve(self, name: str, version: int | str, comment: str = "") -> Approval: ...

    @abstractmethod
    def approvals(self, name: str, version: int | str) -> list[Approval]: ...

    @abstractmethod
    def set_alias(
        self, name: str, alias: str, version: int | str, reason: str = ""
    ) -> ModelVersion: ...

    @abstractmethod
    def delete_alias(self, name: str, alias: str, reason: str = "") -> None: ...

    @abstractmethod
    def set_policy(
        self,
        name: str,
        *,
        required_approvals: int = 0,
        two_person_rule: bool = False,
        reason: str = "",
        unapproved_strategies: tuple[str, ...] | None = None,
    ) -> RegisteredModel: ...

    @abstractmethod
    def rollback(self, name: str, reason: str = "") -> ModelVersion:
        """Return production to the version that was in production before the current one."""

    @abstractmethod
    def history(self, name: str) -> list[AuditEvent]: ...

    # -- shared behaviour --------------------------------------------------------------
    def archive(self, name: str, version: int | str, reason: str = "") -> ModelVersion:
        return self.promote(name, version, Stage.ARCHIVED, reason)

    def load(self, uri: str) -> Any:
        """Load the model a URI names; every file's hash is checked before it is unpickled."""
        ref = parse_uri(uri)
        if isinstance(ref, RunRef):
            return load_run_model(self.tracking, ref.run_id, ref.path)
        version = self.resolve(uri)
        source = parse_uri(version.source)
        assert isinstance(source, RunRef)
        return load_run_model(self.tracking, source.run_id, source.path, pinned=version)


MAX_VERSION = 2**31 - 1  # the column is a 32-bit integer on every backend


def version_number(version: int | str) -> int:
    try:
        number = int(version)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"a version is a whole number, got {version!r}") from exc
    if number < 1:
        raise InvalidArgument(f"versions start at 1, got {number}")
    if number > MAX_VERSION:
        raise InvalidArgument(f"no model has {number:,} versions", hint="check the version number")
    return number


def stage_of(value: str | Stage) -> Stage:
    try:
        return Stage(str(value).lower())
    except ValueError as exc:
        raise InvalidArgument(
            f"unknown stage {value!r}", hint=f"use one of: {', '.join(s.value for s in Stage)}"
        ) from exc
