"""Where a project stands on the usual MLOps maturity model, with the evidence for each
capability and the next concrete step.

- Level 1, automated training: runs are tracked, and training is a pipeline.
- Level 2, automated deployment: the registry is in use, data is validated in CI, models
  are deployed from the registry, and monitoring has alert rules.
- Level 3, full automation: retraining is triggered on its own, a person approves before
  production where the policy says so, and new versions go out as canaries or shadows.

A level is reached when every capability of it and of the levels below holds: a team that
canaries models it trained by hand is at level 0, whatever else it has.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from shipway.session import Session

LEVELS = {
    0: "manual: notebooks, hand-made deployments, no monitoring",
    1: "automated training: tracked, reproducible pipelines",
    2: "automated deployment: a registry, data validated in CI, monitoring with alerts",
    3: "full automation: triggered retraining, approval, canary rollouts",
}
CI_FILES = (".github/workflows/*.yml", ".github/workflows/*.yaml", ".gitlab-ci.yml")
CI_CHECKS = ("shipway check", "shipway data validate")


@dataclass(frozen=True)
class Capability:
    level: int
    name: str
    holds: bool
    evidence: str
    next_step: str


@dataclass(frozen=True)
class Maturity:
    level: int
    capabilities: list[Capability]

    @property
    def next_step(self) -> Capability | None:
        return next((c for c in self.capabilities if not c.holds), None)

    def to_dict(self) -> dict[str, Any]:
        step = self.next_step
        return {
            "level": self.level,
            "summary": LEVELS[self.level],
            "capabilities": [asdict(c) for c in self.capabilities],
            "next_step": None if step is None else step.next_step,
        }


def _ci_checks(project: Path) -> tuple[bool, str]:
    files = [p for pattern in CI_FILES for p in sorted(project.glob(pattern))]
    if not files:
        return False, "no CI workflow (.github/workflows/*.yml, .gitlab-ci.yml)"
    for path in files:
        text = path.read_text(errors="replace")
        found = [c for c in CI_CHECKS if c in text]
        if found:
            return True, f"{path.relative_to(project)} runs `{found[0]}`"
    names = ", ".join(str(p.relative_to(project)) for p in files)
    return False, f"{names} validate(s) no data (no `shipway check` or `shipway data validate`)"


def assess(session: Session, project: Path) -> Maturity:
    """The project in ``project`` (its CI files) and the store ``session`` points at."""
    from shipway.store.inventory import inventory

    have = inventory(session.stores.db)
    settings = session.settings
    manual = [name for name, loop in settings.loops.items() if loop.approval == "manual"]
    ci, ci_evidence = _ci_checks(project)
    capabilities = [
        Capability(
            1,
            "tracked runs",
            have["runs"] > 0,
            f"{have['runs']} run(s) in the store",
            "track training: `with sw.start_run(experiment=...) as run: run.log_metric(...)`",
        ),
        Capability(
            1,
            "training as a pipeline",
            have["pipeline_runs"] > 0,
            f"{have['pipeline_runs']} pipeline run(s)",
            "make training a `@sw.pipeline` and run `shipway pipeline run train.py:retrain`",
        ),
        Capability(
            2,
            "registry in use",
            have["in_production"] > 0,
            f"{have['models']} model(s), {have['versions']} version(s), "
            f"{have['in_production']} in production",
            "`shipway models register RUN_ID --name NAME`, then `shipway models promote NAME "
            "VERSION --to production`",
        ),
        Capability(
            2,
            "data validated in CI",
            ci,
            ci_evidence,
            "`shipway init --ci github` (or gitlab) adds a workflow that runs `shipway check`; "
            "or run `shipway check` or `shipway data validate` in yours",
        ),
        Capability(
            2,
            "deployed from the registry",
            have["deployments"] > 0,
            f"{have['deployments']} deployment(s), {have['automated_deploys']} change(s) by "
            "the controller",
            "`shipway deploy create NAME --model MODEL --version V`, served by `shipway serve NAME`",
        ),
        Capability(
            2,
            "monitoring with alerts",
            bool(settings.alerts) or have["alerts"] > 0,
            f"{len(settings.alerts)} alert rule(s) in shipway.toml, {have['alerts']} alert(s)",
            "add [[alerts]] rules to shipway.toml and run `shipway server` (or `shipway "
            "controller`)",
        ),
        Capability(
            3,
            "triggered retraining",
            have["loop_trainings"] > 0,
            f"{len(settings.loops)} loop(s) in shipway.toml, {have['loop_trainings']} "
            "training(s) they started",
            "declare [loops.DEPLOYMENT] with triggers and a gate, and run `shipway controller`",
        ),
        Capability(
            3,
            "approval before production",
            bool(manual) or have["policies"] > 0,
            f"{have['policies']} model(s) with an approval policy, {len(manual)} loop(s) with "
            f"manual approval, {have['approvals']} approval(s) given",
            '`shipway models policy NAME --approvals 1`, or approval = "manual" in the loop',
        ),
        Capability(
            3,
            "canary or shadow rollouts",
            have["progressive_rollouts"] > 0,
            f"{have['progressive_rollouts']} canary, shadow, A/B or blue-green deploy(s)",
            'rollout = { strategy = "canary" } in the loop, or `shipway deploy create NAME --model M '
            "--version V --strategy canary --weight 10`",
        ),
    ]
    level = 0
    for candidate in (1, 2, 3):
        if all(c.holds for c in capabilities if c.level <= candidate):
            level = candidate
    return Maturity(level, capabilities)
