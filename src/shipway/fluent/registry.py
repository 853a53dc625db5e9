"""Registry functions of the fluent API (``sw.register_model``, ``sw.load_model`` …)."""

from __future__ import annotations

from typing import Any

from shipway.registry.backend import RegistryBackend
from shipway.session import current
from shipway.types import Approval, AuditEvent, ModelVersion


def _registry() -> RegistryBackend:
    return current().registry


def register_model(run_or_uri: Any, name: str, description: str = "") -> ModelVersion:
    """Register a run's model as the next version of ``name``, with its lineage."""
    return _registry().register(run_or_uri, name, description)


def load_model(uri: str) -> Any:
    """Load ``models:/NAME/VERSION``, ``models:/NAME@ALIAS_OR_STAGE`` or ``runs:/RUN_ID/PATH``."""
    return _registry().load(uri)


def get_model_version(name: str, version: int | str) -> ModelVersion:
    """One version of a registered model: stage, aliases, lineage, pinned files."""
    return _registry().get_version(name, version)


def promote(
    name: str, version: int | str, to: str = "production", reason: str = ""
) -> ModelVersion:
    """Move a version to a stage (staging, production, archived), under the model's policy."""
    return _registry().promote(name, version, to, reason)


def approve(name: str, version: int | str, comment: str = "") -> Approval:
    """Approve a version for production (the two-person rule may forbid its registrant)."""
    return _registry().approve(name, version, comment)


def set_alias(name: str, alias: str, version: int | str, reason: str = "") -> ModelVersion:
    """Point an alias (``champion``) at a version."""
    return _registry().set_alias(name, alias, version, reason)


def set_policy(
    name: str,
    *,
    required_approvals: int = 0,
    two_person_rule: bool = False,
    reason: str = "",
    unapproved_strategies: tuple[str, ...] | None = None,
) -> Any:
    """Require approvals (and the two-person rule) before a version enters production, which
    includes serving all of a deployment's traffic. ``unapproved_strategies`` lists the rollout
    strategies an unapproved version may still run as a candidate in (default shadow and
    blue-green; ``()`` for none; None keeps what is set)."""
    return _registry().set_policy(
        name,
        required_approvals=required_approvals,
        two_person_rule=two_person_rule,
        reason=reason,
        unapproved_strategies=unapproved_strategies,
    )


def rollback(name: str, reason: str = "") -> ModelVersion:
    """Return production to the previous production version (audited)."""
    return _registry().rollback(name, reason)


def model_history(name: str) -> list[AuditEvent]:
    """The audit log of a model: who did what, when and why."""
    return _registry().history(name)
