"""The model registry through ``shipway server``: the server decides policy, as it does for
every caller, and its audit log names the token's user."""

from __future__ import annotations

from typing import Any

from shipway.client.tracking import RemoteTracking, _seg
from shipway.errors import InvalidArgument
from shipway.registry.backend import RegistryBackend, stage_of, version_number
from shipway.registry.uris import ModelRef, RunRef, parse_uri
from shipway.session import Session
from shipway.types import Approval, AuditEvent, ModelVersion, RegisteredModel, Stage, from_plain


class RemoteRegistry(RegistryBackend):
    def __init__(self, tracking: RemoteTracking) -> None:
        self.tracking = tracking
        self.transport = tracking.transport

    @classmethod
    def of(cls, session: Session) -> RemoteRegistry:
        tracking = session.tracking
        assert isinstance(tracking, RemoteTracking)
        return cls(tracking)

    def _model(self, name: str) -> str:
        return f"/models/{_seg(name)}"

    def _version(self, name: str, version: int | str) -> str:
        return f"{self._model(name)}/versions/{version_number(version)}"

    # -- registering -------------------------------------------------------------------
    def register(self, run_or_uri: Any, name: str, description: str = "") -> ModelVersion:
        self.tracking.flush()  # the version's lineage records the run's metrics as they are now
        body = {"source": _source(run_or_uri), "description": description}
        answer = self.transport.json("POST", f"{self._model(name)}/versions", json=body)
        return from_plain(ModelVersion, answer)

    # -- reading -----------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        return from_plain(RegisteredModel, self.transport.json("GET", self._model(name))["model"])

    def list_models(self) -> list[tuple[RegisteredModel, int, dict[str, int]]]:
        return [
            (from_plain(RegisteredModel, m["model"]), int(m["versions"]), dict(m["stages"]))
            for m in self.transport.json("GET", "/models")
        ]

    def list_versions(self, name: str) -> list[ModelVersion]:
        found = self.transport.json("GET", self._model(name))["versions"]
        return [from_plain(ModelVersion, v) for v in found]

    def get_version(self, name: str, version: int | str) -> ModelVersion:
        return from_plain(ModelVersion, self.transport.json("GET", self._version(name, version)))

    def resolve(self, uri: str) -> ModelVersion:
        ref = parse_uri(uri)
        if isinstance(ref, RunRef):
            raise InvalidArgument(f"{uri} is a run's model, not a registered version")
        assert isinstance(ref, ModelRef)
        if ref.version is not None:
            return self.get_version(ref.name, ref.version)
        assert ref.alias is not None
        answer = self.transport.json("GET", f"{self._model(ref.name)}/aliases/{_seg(ref.alias)}")
        return from_plain(ModelVersion, answer)

    def approvals(self, name: str, version: int | str) -> list[Approval]:
        found = self.transport.json("GET", f"{self._version(name, version)}/approvals")
        return [from_plain(Approval, a) for a in found]

    def history(self, name: str) -> list[AuditEvent]:
        found = self.transport.json("GET", f"{self._model(name)}/history")
        return [from_plain(AuditEvent, e) for e in found]

    # -- changing ----------------------------------------------------------------------
    def promote(
        self, name: str, version: int | str, to: str | Stage, reason: str = ""
    ) -> ModelVersion:
        body = {"stage": stage_of(to).value, "reason": reason}
        answer = self.transport.json("POST", f"{self._version(name, version)}/stage", json=body)
        return from_plain(ModelVersion, answer)

    def approve(self, name: str, version: int | str, comment: str = "") -> Approval:
        answer = self.transport.json(
            "POST", f"{self._version(name, version)}/approvals", json={"comment": comment}
        )
        return from_plain(Approval, answer)

    def set_alias(
        self, name: str, alias: str, version: int | str, reason: str = ""
    ) -> ModelVersion:
        body = {"version": version_number(version), "reason": reason}
        answer = self.transport.json("PUT", f"{self._model(name)}/aliases/{_seg(alias)}", json=body)
        return from_plain(ModelVersion, answer)

    def delete_alias(self, name: str, alias: str, reason: str = "") -> None:
        path = f"{self._model(name)}/aliases/{_seg(alias)}"
        self.transport.request("DELETE", path, params={"reason": reason} if reason else None)

    def set_policy(
        self,
        name: str,
        *,
        required_approvals: int = 0,
        two_person_rule: bool = False,
        reason: str = "",
        unapproved_strategies: tuple[str, ...] | None = None,
    ) -> RegisteredModel:
        body = {
            "required_approvals": required_approvals,
            "two_person_rule": two_person_rule,
            "reason": reason,
            "unapproved_strategies": unapproved_strategies,
        }
        answer = self.transport.json("PUT", f"{self._model(name)}/policy", json=body)
        return from_plain(RegisteredModel, answer)

    def rollback(self, name: str, reason: str = "") -> ModelVersion:
        answer = self.transport.json(
            "POST", f"{self._model(name)}/rollback", json={"reason": reason}
        )
        return from_plain(ModelVersion, answer)


def _source(run_or_uri: Any) -> str:
    """What the server registers from: a run id or a ``runs:/`` URI."""
    if isinstance(run_or_uri, str):
        return run_or_uri
    if hasattr(run_or_uri, "model_uri"):  # a LoggedModel
        return str(run_or_uri.model_uri)
    if hasattr(run_or_uri, "run_id"):
        return str(run_or_uri.run_id)
    raise InvalidArgument(
        f"cannot register {run_or_uri!r}", hint="pass a run, a run id or a runs:/ URI"
    )
