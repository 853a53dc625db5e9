"""Promotion policy: pure checks, run inside the registry's write transaction."""

from __future__ import annotations

from shipway.errors import PolicyViolation
from shipway.types import Approval, ModelVersion, RegisteredModel, Stage


def promotion_guard(stage: Stage):  # type: ignore[no-untyped-def]
    """A guard that lets ``stage`` through only with the approvals the model's policy asks for."""

    def guard(model: RegisteredModel, version: ModelVersion, approvals: list[Approval]) -> None:
        if version.stage == Stage.ARCHIVED and stage == Stage.STAGING:
            return
        if stage != Stage.PRODUCTION or model.required_approvals == 0:
            return
        valid = [
            a for a in approvals if not (model.two_person_rule and a.user == version.created_by)
        ]
        if len(valid) < model.required_approvals:
            raise PolicyViolation(
                f"{model.name} version {version.version} needs {model.required_approvals} approval(s) "
                f"before production and has {len(valid)}",
                hint=f"an approver runs `shipway models approve {model.name} {version.version}`",
                details={
                    "required": model.required_approvals,
                    "approvals": [a.user for a in valid],
                },
            )

    return guard


def approval_guard(actor: str):  # type: ignore[no-untyped-def]
    """Under the two-person rule, whoever registered a version cannot approve it."""

    def guard(model: RegisteredModel, version: ModelVersion, approvals: list[Approval]) -> None:
        if version.stage == Stage.ARCHIVED:
            raise PolicyViolation(
                f"{model.name} version {version.version} is archived and cannot be approved"
            )
        if model.two_person_rule and actor == version.created_by:
            raise PolicyViolation(
                f"{actor} registered {model.name} version {version.version} and so cannot approve it "
                "(the model has the two-person rule)",
                hint="ask another approver",
            )

    return guard


def candidate_guard(strategy: str):  # type: ignore[no-untyped-def]
    """A version that has not passed the policy may run as a candidate only in the strategies
    the model's policy lists (by default shadow and blue-green, where no caller sees it)."""
    production = promotion_guard(Stage.PRODUCTION)

    def guard(model: RegisteredModel, version: ModelVersion, approvals: list[Approval]) -> None:
        if strategy in model.unapproved_strategies:
            return
        try:
            production(model, version, approvals)
        except PolicyViolation as exc:
            allowed = ", ".join(model.unapproved_strategies) or "no strategy"
            raise PolicyViolation(
                f"{exc.message}; unapproved, it may run only as {allowed}, not as {strategy}",
                hint=f"an approver runs `shipway models approve {model.name} {version.version}`, "
                f"or `shipway models policy {model.name} --unapproved {strategy}` allows it",
                details=exc.details,
            ) from exc

    return guard
