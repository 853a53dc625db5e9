"""Deployments: ``shipway deploy`` and ``sw.deploy`` write them, model servers read them.

Every change is checked against the registry (the version must exist and not be archived),
decided by the pure functions in :mod:`shipway.serving.rollout`, and stored in one
transaction with its audit event. Serving all traffic is production: a new stable version
must pass the model's promotion policy and moves to the registry's ``production`` stage in
that same transaction, and a candidate that has not passed it runs only in the strategies the
policy allows.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from shipway.errors import InvalidArgument, NotFound, PolicyViolation
from shipway.models.format import MODEL_FILE
from shipway.registry.policy import candidate_guard, promotion_guard
from shipway.services import DeploymentBackend
from shipway.serving import rollout
from shipway.session import Session
from shipway.store.deployment_store import Consequence, DeploymentStore, deployment_entity
from shipway.store.validation import check_key
from shipway.types import AuditEvent, Deployment, Stage, Strategy

if TYPE_CHECKING:
    from shipway.types import ModelVersion

log = logging.getLogger(__name__)

# Aliases that move when anyone who may register a version registers one.
EDITOR_ALIASES = ("latest", "none")


class LocalDeployments(DeploymentBackend):
    """Deployments in the local stores (see :class:`shipway.services.DeploymentBackend`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.registry = session.registry
        self.stores = session.stores
        self.store = DeploymentStore(session.stores.db)

    def revisions(self, names: Sequence[str]) -> dict[str, int]:
        """Each deployment's revision, which grows with every change (model servers poll it)."""
        return self.store.revisions([check_key(name, "deployment") for name in names])

    @property
    def actor(self) -> str:
        return self.session.actor

    def deploy(
        self,
        name: str,
        *,
        model: str,
        version: int | str,
        strategy: str | Strategy = Strategy.DIRECT,
        weight: float | None = None,
        sticky_key: str | None = None,
        reason: str = "",
    ) -> Deployment:
        """Serve ``version`` of ``model`` in ``name``: alone (direct) or as the candidate."""
        chosen = rollout.strategy_of(strategy)
        rollout.check_sticky_key(chosen, sticky_key)  # the options first, then the version
        found = self._servable(model, version)
        if chosen == Strategy.AB and sticky_key:  # both variants must take the key
            current = self.store.find(name)
            self._routes_by(found, sticky_key)
            if current is not None and current.stable is not None:
                stable = self.registry.get_version(current.model, current.stable)
                self._routes_by(stable, sticky_key)
        decide = functools.partial(
            rollout.deploy,
            name=name,
            model=model,
            version=found.version,
            strategy=chosen,
            weight=weight,
            sticky_key=sticky_key,
        )
        action = f"deploy:{chosen.value}"
        return self.store.change(
            name,
            decide,
            actor=self.actor,
            action=action,
            reason=reason,
            also=self._registry_follows(name, action, reason),
        )

    def follow(self, name: str, model: str, alias: str) -> Deployment:
        """A deployment whose stable version is whatever ``models:/model@alias`` names now.

        ``latest`` and ``none`` name whatever any editor registered last, so they are followed
        only where the model's policy asks for an approval (and then to the newest version
        that has it), or where ``[serve] follow_unapproved`` accepts the risk.
        """
        found, approved = self._followed(model, alias)
        version = found.version
        current = self.store.find(name)
        if current is not None and current.stable == version and current.follow == alias:
            return current
        decide = functools.partial(
            rollout.follow_stage, name=name, model=model, version=version, follow=alias
        )
        reason = f"models:/{model}@{alias} is version {version}, registered by {found.created_by}"
        if not approved:  # said at each change, not at each poll
            log.warning("UNAPPROVED FOLLOW: %s ([serve] follow_unapproved = true)", reason)
        return self.store.change(
            name,
            decide,
            actor=self.actor,
            action="follow",
            reason=reason,
            also=self._registry_follows(name, "follow", reason),
        )

    def _followed(self, model: str, alias: str) -> tuple[Any, bool]:
        """The version ``models:/model@alias`` names, once it may be served to all traffic,
        and whether anyone approved it (False only where follow_unapproved accepts that)."""
        if alias.lower() not in EDITOR_ALIASES:  # only approvers move it
            return self.registry.resolve(f"models:/{model}@{alias}"), True
        policy = self.registry.get_model(model)
        if policy.required_approvals == 0:
            if not self.session.settings.serve.follow_unapproved:
                raise PolicyViolation(
                    f"models:/{model}@{alias} serves whatever any editor registers next, and "
                    f"{model}'s policy asks for no approval",
                    hint=f"follow models:/{model}@production (only approvers move it), ask for "
                    f"an approval with `shipway models policy {model} --approvals 1`, or set "
                    "[serve] follow_unapproved = true to accept the risk",
                )
            return self.registry.resolve(f"models:/{model}@{alias}"), False
        guard = promotion_guard(Stage.PRODUCTION)
        for found in sorted(self.registry.list_versions(model), key=lambda v: -v.version):
            if found.stage == Stage.ARCHIVED or (
                alias.lower() == "none" and found.stage != Stage.NONE
            ):
                continue  # retired by an approver, or not what @none names
            try:
                guard(policy, found, self.registry.approvals(model, found.version))
            except PolicyViolation:
                continue  # not approved yet: the newest approved one serves meanwhile
            return found, True
        raise PolicyViolation(
            f"no version of {model} has the {policy.required_approvals} approval(s) its policy "
            f"asks for, so models:/{model}@{alias} has nothing to serve",
            hint=f"an approver runs `shipway models approve {model} VERSION`",
        )

    def set_weight(self, name: str, weight: float, reason: str = "") -> Deployment:
        self.store.get(name)
        decide = functools.partial(rollout.set_weight, weight=weight)
        return self.store.change(name, decide, actor=self.actor, action="weight", reason=reason)

    def set_batching(
        self, name: str, max_batch: int, max_wait_ms: float = 2.0, reason: str = ""
    ) -> Deployment:
        """Micro-batching: up to ``max_batch`` rows per model call, waiting ``max_wait_ms`` at
        most, and only while other requests are arriving (0 turns it off)."""
        self.store.get(name)
        decide = functools.partial(rollout.batching, max_batch=max_batch, max_wait_ms=max_wait_ms)
        return self.store.change(name, decide, actor=self.actor, action="batching", reason=reason)

    def promote(self, name: str, reason: str = "") -> Deployment:
        """The candidate takes all the traffic (a blue-green switch, a finished canary)."""
        self.store.get(name)
        return self.store.change(
            name,
            rollout.promote,
            actor=self.actor,
            action="promote",
            reason=reason,
            also=self._registry_follows(name, "promote", reason),
        )

    def rollback(self, name: str, reason: str = "") -> Deployment:
        """Drop the candidate, or return to the stable version before the last promotion."""
        self.store.get(name)
        return self.store.change(
            name,
            rollout.rollback,
            actor=self.actor,
            action="rollback",
            reason=reason,
            also=self._registry_follows(name, "rollback", reason),
        )

    def get(self, name: str) -> Deployment:
        return self.store.get(name)

    def list(self) -> list[Deployment]:
        return self.store.list()

    def history(self, name: str) -> builtins.list[AuditEvent]:
        self.store.get(name)
        return self.stores.registry.history(deployment_entity(name))

    def _registry_follows(self, name: str, action: str, reason: str) -> Consequence:
        """The registry's side of a change, in its transaction: a new stable version passes the
        promotion policy (a rollback returns to a version that already did) and becomes the
        model's production version; a new candidate passes the candidate policy."""
        registry, actor = self.stores.registry, self.actor

        def follow(conn: Connection, before: Deployment | None, after: Deployment) -> None:
            if after.stable is not None and (before is None or before.stable != after.stable):
                why = f"deployment {name} serves it to all traffic ({action})"
                registry.transition_within(
                    conn,
                    after.model,
                    after.stable,
                    Stage.PRODUCTION,
                    actor=actor,
                    reason=f"{why}: {reason}" if reason else why,
                    guard=None if action == "rollback" else promotion_guard(Stage.PRODUCTION),
                    action="deploy",
                )
            fresh = before is None or (before.candidate, before.strategy) != (
                after.candidate,
                after.strategy,
            )
            if after.candidate is not None and fresh:
                guard = candidate_guard(after.strategy.value)
                registry.check_within(conn, after.model, after.candidate, guard)

        return follow

    def _servable(self, model: str, version: int | str) -> Any:
        try:
            found = self.registry.get_version(model, version)
        except NotFound as exc:
            raise NotFound(exc.message, hint=f"see `shipway models show {model}`") from exc
        if found.stage == Stage.ARCHIVED:  # retired: by hand, or by a newer promotion
            returning = found.version in self.stores.registry.production_history(model)
            raise InvalidArgument(
                f"{model} version {found.version} is archived and cannot be deployed",
                hint="`shipway deploy rollback` returns a deployment to the version it served "
                "before"
                if returning
                else "promote it out of archived first, or deploy another version",
            )
        missing = self._missing_files(found)
        if missing:
            raise NotFound(
                f"{model} version {found.version} cannot be served: {len(missing)} of its files "
                f"are missing from the artifact store ({', '.join(missing[:3])})",
                hint="restore them from a backup, or deploy another version",
            )
        return found

    def _routes_by(self, version: ModelVersion, key: str) -> None:
        """An A/B test's sticky key must be one of the model's inputs: every request without
        it would be refused, so a typo would be an outage."""
        columns = self._input_columns(version)
        if columns is not None and key not in columns:
            near = difflib.get_close_matches(key, columns, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise InvalidArgument(
                f"the A/B test would route by {key!r}, which {version.name} version "
                f"{version.version} does not take as an input",
                hint=f"{hint}its inputs: {', '.join(columns)}",
            )

    def _input_columns(self, version: ModelVersion) -> builtins.list[str] | None:
        """The input columns of a version's signature (None: it has none, or no run)."""
        if not version.run_id or not version.source.startswith("runs:/"):
            return None
        folder = version.source.split("/", 2)[2].strip("/")
        try:
            _, stream = self.registry.tracking.open_artifact(
                version.run_id, f"{folder}/{MODEL_FILE}"
            )
            with stream:
                document = json.loads(stream.read())
        except (NotFound, ValueError, OSError):
            return None
        inputs = (document.get("signature") or {}).get("inputs") or []
        return [str(c["name"]) for c in inputs if isinstance(c, dict) and "name" in c] or None

    def _missing_files(self, version: ModelVersion) -> builtins.list[str]:
        """The version's registered files that the artifact store no longer has."""
        if not version.files or not version.run_id:
            return []
        run = self.registry.tracking.get_run(version.run_id)
        prefix = f"{run.experiment_id}/{run.run_id}/artifacts/"
        folder = version.source.split("/", 2)[2].strip("/")
        present = set(self.stores.artifacts.list(prefix + folder))
        return sorted(p for p in version.files if prefix + p not in present)
