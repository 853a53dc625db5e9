"""``shipway init [PROJECT]`` and ``shipway check``: a project made, and checked as CI does."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, errors, table
from shipway.errors import InvalidArgument


def init(
    project: Path = typer.Argument(
        Path("."), help="The project folder: made if new; what is in it already is kept."
    ),
    data: Path = typer.Option(
        None, "--data", help="A sample (.csv or .parquet): the training rows and a holdout."
    ),
    label: str = typer.Option(None, "--label", help="The data's label column (default: label)."),
    features: bool = typer.Option(False, "--features", help="Also write features.py."),
    ci: str = typer.Option(None, "--ci", help="Also write a CI workflow: github or gitlab."),
    from_notebook: Path = typer.Option(
        None, "--from-notebook", help="Make train.py from this notebook's code cells."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the files that exist."),
) -> None:
    """Write a small, working project: pipeline, schema, settings, tests, README (and CI)."""
    from shipway.config import Settings
    from shipway.project.scaffold import init_project
    from shipway.store import open_stores

    with console.status("writing the project"):
        written = init_project(
            project,
            data=data,
            label=label,
            features=features,
            ci=ci,
            notebook=from_notebook,
            force=force,
        )
    for file in written:
        verb = "wrote" if file.written else "kept "
        console.print(f"{verb} {file.path.relative_to(project)}", markup=False)
    settings = Settings.resolve(cwd=project.resolve())
    if settings.metadata_url.startswith("sqlite"):  # the embedded store; a team's is not ours
        open_stores(settings).close()
    where = "" if project == Path(".") else f"cd {project} && "
    console.print(
        f"next: {where}shipway pipeline run train.py:train && shipway check", markup=False
    )


def check(
    sample: int = typer.Option(
        None, "--sample", help="Rows for the smoke run (default: [check] sample; 0: every row)."
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="Judge this model (models:/NAME/V, runs:/ID/model), not the smoke run's.",
    ),
    junit: Path = typer.Option(None, "--junit", help="Write a JUnit XML report here."),
    summary: Path = typer.Option(None, "--summary", help="Write a Markdown report here."),
    as_json: bool = JSON,
) -> None:
    """CI for ML: the data, a smoke run, the gate and serving readiness. Exits 1 on a failure."""
    from shipway.config import Settings
    from shipway.project.check import Checks
    from shipway.project.check_report import junit_xml, markdown, write

    checks = Checks(Settings.resolve(), sample=sample, model_uri=model)
    with console.status("shipway check") as status:
        checks.say = lambda name: status.update(f"shipway check: {name}")
        report = checks.run()
    for path, render in ((junit, junit_xml), (summary, markdown)):
        if path is not None:
            try:
                write(render(report), path)
            except OSError as exc:
                raise InvalidArgument(
                    f"cannot write the report {path}: {exc.strerror}",
                    hint="name a file in a folder you can write",
                ) from exc
    if as_json:
        emit_json(report.to_dict())
    else:
        table(
            "shipway check",
            ["check", "result", "details"],
            [
                (o.name, o.status, "; ".join(s for s in (o.summary, *o.notes) if s))
                for o in report.outcomes
            ],
        )
    if not report.ok:
        for line in report.failure_lines():
            errors.print(line, markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
