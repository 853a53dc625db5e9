"""``shipway maturity``: which level of the MLOps maturity model the project has reached."""

from __future__ import annotations

from pathlib import Path

import typer

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, table


def maturity(
    project: Path = typer.Option(Path("."), "--project", help="The project folder (its CI files)."),
    as_json: bool = JSON,
) -> None:
    """The level (0–3) reached, the evidence for each capability, and the next step."""
    from shipway.errors import InvalidArgument
    from shipway.project.maturity import LEVELS, assess
    from shipway.session import current

    if not project.is_dir():
        raise InvalidArgument(f"no folder {project}", hint="--project names the project folder")
    session = current()
    if session.is_remote:
        raise InvalidArgument(
            "shipway maturity reads the stores, not a server",
            hint="point it at the store (SHIPWAY_TRACKING_URI=sqlite:///... or postgresql://...)",
        )
    found = assess(session, project)
    if as_json:
        emit_json(found.to_dict())
        return
    table(
        "capabilities",
        ["level", "capability", "holds", "evidence"],
        [(c.level, c.name, "yes" if c.holds else "no", c.evidence) for c in found.capabilities],
    )
    console.print(f"level {found.level} of 3: {LEVELS[found.level]}", markup=False)
    step = found.next_step
    console.print(
        "next: " + (step.next_step if step else "nothing: every capability holds"), markup=False
    )
