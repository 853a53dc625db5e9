"""The model registry: versions with lineage, stages, aliases, approvals, rollback, audit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipway.errors import InvalidArgument, NotFound
from shipway.registry.backend import RegistryBackend, stage_of, version_number
from shipway.registry.policy import approval_guard, promotion_guard
from shipway.registry.uris import ModelRef, RunRef, parse_uri
from shipway.store import Stores
from shipway.store.registry_store import model_entity
from shipway.tracking.backend import TrackingBackend
from shipway.tracking.model_logging import logged_model_paths
from shipway.types import Approval, AuditEvent, ModelVersion, RegisteredModel, Stage

if TYPE_CHECKING:
    from shipway.types import Run

_LINEAGE_TAGS = (
    "shipway.git.commit",
    "shipway.git.dirty",
    "shipway.git.branch",
    "shipway.python",
    "shipway.seed",
)


# On a run: the label column of the reference it records (when not the monitoring label's).
REFERENCE_LABEL_TAG = "shipway.reference.label"


class LocalRegistry(RegistryBackend):
    """The registry over the local stores; ``shipway server`` runs this one for its callers."""

    def __init__(
        self, tracking: TrackingBackend, stores: Stores, *, actor: str | None = None
    ) -> None:
        self.tracking = tracking
        self.stores = stores
        self.store = stores.registry
        self._actor = actor  # who acts, when not the settings' user (the server's callers)

    @property
    def actor(self) -> str:
        return self._actor or self.tracking.user

    # -- registering -------------------------------------------------------------------
    def register(self, run_or_uri: Any, name: str, description: str = "") -> ModelVersion:
        """Register the model logged by a run (or at a ``runs:/`` URI) as the next version."""
        run_id, path = self._source(run_or_uri)
        run = self.tracking.get_run(run_id)
        paths = logged_model_paths(self.tracking, run_id)
        if path is None:
            if not paths:
                raise NotFound(
                    f"run {run_id} logged no model",
                    hint="call run.log_model(model) before registering",
                )
            if len(paths) > 1:
                raise InvalidArgument(
                    f"run {run_id} logged several models ({', '.join(paths)})",
                    hint=f"register one by URI, e.g. runs:/{run_id}/{paths[0]}",
                )
            path = paths[0]
        elif path not in paths:
            raise NotFound(
                f"run {run_id} has no model at {path!r}",
                hint=f"logged models: {', '.join(paths) or 'none'}",
            )
        lineage: dict[str, Any] = {
            "run_id": run.run_id,
            "experiment_id": run.experiment_id,
            "run_name": run.name,
            "datasets": self._datasets(run),
            "code": {
                k.removeprefix("shipway."): v for k, v in run.tags.items() if k in _LINEAGE_TAGS
            },
            "metrics": dict(run.metrics),
            "params": dict(run.params),
        }
        if "shipway.loop.trigger" in run.tags:  # trained by a continuous-training loop
            lineage["trigger"] = run.tags["shipway.loop.trigger"]
        versioned = [d for d in lineage["datasets"] if d.get("version")]
        training = next((d for d in versioned if d["role"] == "train"), None) or next(
            (d for d in versioned if d["role"] == "reference"),
            None,  # borrowed, said so
        )
        if training is not None:
            # The training data's schema checks requests, and its profile is the monitoring reference.
            lineage["reference"] = {"dataset": training["name"], "version": training["version"]}
            if run.tags.get(REFERENCE_LABEL_TAG):
                lineage["reference"]["label"] = run.tags[REFERENCE_LABEL_TAG]
            lineage["schema"] = training.pop("schema")
        for entry in lineage["datasets"]:
            entry.pop("schema", None)
        # The hashes as they are now are what this version is, whatever happens to the run later.
        files = {i.path: i.digest for i in self.tracking.list_artifacts(run_id, path)}
        return self.store.create_version(
            name,
            source=f"runs:/{run_id}/{path}",
            run_id=run_id,
            actor=self.actor,
            lineage=lineage,
            files=files,
            description=description,
        )

    def _datasets(self, run: Run) -> list[dict[str, Any]]:
        """The run's inputs, with the stored version (and its schema) where the data was versioned."""
        from shipway.store.dataset_store import DatasetStore

        store = DatasetStore(self.stores.db)
        out = []
        for i in run.inputs:
            entry: dict[str, Any] = {
                "name": i.name,
                "digest": i.digest,
                "role": i.role,
                "rows": i.rows,
            }
            version = store.find(i.name, i.digest)
            if version is not None:
                entry["version"] = version.version
                entry["schema"] = version.schema
            out.append(entry)
        return out

    def _source(self, run_or_uri: Any) -> tuple[str, str | None]:
        if isinstance(run_or_uri, str) and run_or_uri.startswith("runs:/"):
            ref = parse_uri(run_or_uri)
            assert isinstance(ref, RunRef)
            return ref.run_id, ref.path
        if isinstance(run_or_uri, str):
            return run_or_uri, None
        if hasattr(run_or_uri, "model_uri"):  # a LoggedModel
            return self._source(run_or_uri.model_uri)
        if hasattr(run_or_uri, "run_id"):
            return run_or_uri.run_id, None
        raise InvalidArgument(
            f"cannot register {run_or_uri!r}", hint="pass a run, a run id or a runs:/ URI"
        )

    # -- reading -----------------------------------------------------------------------
    def get_model(self, name: str) -> RegisteredModel:
        return self.store.get_model(name)

    def list_models(self) -> list[tuple[RegisteredModel, int, dict[str, int]]]:
        return self.store.list_models()

    def list_versions(self, name: str) -> list[ModelVersion]:
        return self.store.list_versions(name)

    def get_version(self, name: str, version: int | str) -> ModelVersion:
        return self.store.get_version(name, version_number(version))

    def resolve(self, uri: str) -> ModelVersion:
        ref = parse_uri(uri)
        if isinstance(ref, RunRef):
            raise InvalidArgument(f"{uri} is a run's model, not a registered version")
        return self._resolve_ref(ref)

    def _resolve_ref(self, ref: ModelRef) -> ModelVersion:
        if ref.version is not None:
            return self.store.get_version(ref.name, ref.version)
        if ref.alias is not None and ref.alias.lower() == "latest":
            versions = self.store.list_versions(ref.name)
            if not versions:
                raise NotFound(f"model {ref.name!r} has no versions")
            return versions[-1]
        assert ref.alias is not None
        return self.store.resolve(ref.name, ref.alias)

    # -- changing ----------------------------------------------------------------------
    def promote(
        self, name: str, version: int | str, to: str | Stage, reason: str = ""
    ) -> ModelVersion:
        stage = stage_of(to)
        return self.store.transition(
            name,
            version_number(version),
            stage,
            actor=self.actor,
            reason=reason,
            guard=promotion_guard(stage),
        )

    def approve(self, name: str, version: int | str, comment: str = "") -> Approval:
        return self.store.approve(
            name,
            version_number(version),
            actor=self.actor,
            comment=comment,
            guard=approval_guard(self.actor),
        )

    def approvals(self, name: str, version: int | str) -> list[Approval]:
        return self.store.approvals(name, version_number(version))

    def set_alias(
        self, name: str, alias: str, version: int | str, reason: str = ""
    ) -> ModelVersion:
        return self.store.set_alias(
            name, alias, version_number(version), actor=self.actor, reason=reason
        )

    def delete_alias(self, name: str, alias: str, reason: str = "") -> None:
        self.store.delete_alias(name, alias, actor=self.actor, reason=reason)

    def set_policy(
        self,
        name: str,
        *,
        required_approvals: int = 0,
        two_person_rule: bool = False,
        reason: str = "",
        unapproved_strategies: tuple[str, ...] | None = None,
    ) -> RegisteredModel:
        return self.store.set_policy(
            name,
            required_approvals=required_approvals,
            two_person_rule=two_person_rule,
            actor=self.actor,
            reason=reason,
            unapproved_strategies=unapproved_strategies,
        )

    def rollback(self, name: str, reason: str = "") -> ModelVersion:
        """Return production to the version that was in production before the current one."""
        versions = {v.version: v for v in self.store.list_versions(name)}
        current = next((v for v in versions.values() if v.stage == Stage.PRODUCTION), None)
        if current is None:
            raise InvalidArgument(f"model {name!r} has no production version to roll back")
        previous = [
            v for v in self.store.production_history(name) if v != current.version and v in versions
        ]
        if not previous:
            raise InvalidArgument(
                f"{name} version {current.version} is the only version that was ever in production",
                hint="there is nothing to roll back to",
            )
        target = previous[-1]
        return self.store.transition(
            name,
            target,
            Stage.PRODUCTION,
            actor=self.actor,
            reason=reason or f"rollback from version {current.version}",
            action="rollback",
        )

    def history(self, name: str) -> list[AuditEvent]:
        self.store.get_model(name)
        return self.store.history(model_entity(name))
