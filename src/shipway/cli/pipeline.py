"""``shipway pipeline run|list|show``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

from shipway.cli.common import JSON, full_run_id, tracking
from shipway.cli.output import console, emit_json, table, when
from shipway.errors import InvalidArgument

app = typer.Typer(help="Pipelines: steps run as tracked runs, with a cache.", no_args_is_help=True)


def _params(fn: Callable[..., Any], pairs: list[str]) -> dict[str, Any]:
    """``k=v`` pairs, each read as the pipeline function's hint for ``k`` says (see
    :func:`shipway.pipelines.param_types.from_text`)."""
    from shipway.pipelines.param_types import from_text

    out: dict[str, Any] = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise InvalidArgument(f"--param {pair!r} is not KEY=VALUE")
        out[key] = from_text(fn, key, value)
    return out


@app.command("run")
def run(
    reference: str = typer.Argument(
        ..., metavar="MODULE:FUNCTION", help="e.g. train:retrain or train.py:retrain"
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="A pipeline parameter, KEY=VALUE (repeatable)."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Run every step, whatever the cache holds."
    ),
    from_step: str = typer.Option(
        None, "--from", help="Run this step and those after it; the rest from the cache."
    ),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="local, or ray: each step a Ray task (RAY_ADDRESS joins a cluster).",
    ),
    as_json: bool = JSON,
) -> None:
    """Run a pipeline: each step a nested run, cached steps skipped."""
    from shipway.pipelines.pipeline import load

    found = load(reference)
    params = _params(found.fn, param)
    say = None if as_json else (lambda line: console.print(line, markup=False))
    with console.status(f"pipeline {found.name}"):
        result = found.run(
            cache=not no_cache,
            from_step=from_step,
            executor=executor,
            say=say,
            **params,
        )
    if as_json:
        emit_json(
            {
                "run_id": result.run_id,
                "steps": {
                    name: {"run_id": s.run_id, "cached": s.cached, "digest": s.digest}
                    for name, s in result.steps.items()
                },
            }
        )
        return
    console.print(
        f"pipeline {found.name} finished: run {result.run_id[:12]}, "
        f"{len(result.cached)} of {len(result.steps)} step(s) from the cache",
        markup=False,
    )


@app.command("list")
def list_(
    name: str = typer.Argument(None, help="Only this pipeline's runs."),
    max_results: int = typer.Option(20, "--max", help="At most this many runs."),
    as_json: bool = JSON,
) -> None:
    """Pipeline runs, newest first."""
    query = (
        "tags.`shipway.pipeline` LIKE '%'"
        if name is None
        else f"tags.`shipway.pipeline` = '{name.replace(chr(39), '')}'"
    )
    found = tracking().search_runs(
        None, query, ["attributes.start_time DESC"], max_results, output="list"
    )
    if as_json:
        emit_json(found)
        return
    rows = [
        (
            r.run_id[:12],
            r.tags.get("shipway.pipeline", ""),
            r.status.value,
            when(r.start_time),
            r.tags.get("shipway.pipeline.cached", "") or "-",
        )
        for r in found
    ]
    table(
        f"{len(found)} pipeline run(s)",
        ["run", "pipeline", "status", "started (UTC)", "cached steps"],
        rows,
    )


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="A pipeline run id (or its unique prefix)."),
    as_json: bool = JSON,
) -> None:
    """A pipeline run's steps: status, cached or run, attempts, output and lineage."""
    client = tracking()
    parent = client.get_run(full_run_id(run_id))
    if "shipway.pipeline" not in parent.tags:
        raise InvalidArgument(f"run {parent.run_id[:12]} is not a pipeline run")
    query = f"attributes.parent_run_id = '{parent.run_id}'"
    steps = client.search_runs(
        parent.experiment_id, query, ["attributes.start_time ASC"], 1000, output="list"
    )
    if as_json:
        emit_json({"run": parent, "steps": steps})
        return
    console.print(
        f"pipeline {parent.tags['shipway.pipeline']} run {parent.run_id}  {parent.status.value}",
        markup=False,
    )
    rows = []
    for s in steps:
        tags = s.tags
        source = tags.get("shipway.step.cached_from")
        inputs = json.loads(tags.get("shipway.step.inputs", "{}"))
        rows.append(
            (
                tags.get("shipway.step", s.name),
                s.status.value,
                f"cached ({source[:12]})"
                if source
                else f"ran, {tags.get('shipway.step.attempts', '1')} attempt(s)",
                ", ".join(f"{k} ← {v['step']}" for k, v in inputs.items()) or "-",
                (tags.get("shipway.step.output_digest") or "-")[:23],
                tags.get("shipway.step.error", "")[:80] or "-",
            )
        )
    table("steps", ["step", "status", "how", "inputs", "output", "error"], rows)
