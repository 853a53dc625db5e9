"""``shipway runs list|show|compare``"""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.text import Text

from shipway.cli.common import JSON, full_run_id, tracking
from shipway.cli.output import console, emit_json, fmt_number, table, when
from shipway.errors import InvalidArgument

app = typer.Typer(help="Runs: what was trained, with what, and how well.", no_args_is_help=True)


@app.command("list")
def list_(
    experiment: str = typer.Option(
        None, "--experiment", "-e", help="Only this experiment (default: all)."
    ),
    filter_: str = typer.Option(
        None, "--filter", "-f", help="e.g. \"metrics.auc > 0.9 and params.model = 'rf'\""
    ),
    order_by: list[str] = typer.Option(
        None, "--order-by", "-o", help="e.g. 'metrics.auc DESC' (repeatable)."
    ),
    max_results: int = typer.Option(50, "--max", help="At most this many runs."),
    as_json: bool = JSON,
) -> None:
    """List runs, newest first, optionally filtered and ordered."""
    found = tracking().search_runs(experiment, filter_, order_by, max_results, output="list")
    if as_json:
        emit_json(found)
        return
    metric_keys = sorted({k for r in found for k in r.metrics})[:6]
    rows = [
        (
            r.run_id[:12],
            r.name,
            r.status.value,
            when(r.start_time),
            *[fmt_number(r.metrics.get(k, "-")) for k in metric_keys],
        )
        for r in found
    ]
    table(f"{len(found)} run(s)", ["run", "name", "status", "started (UTC)", *metric_keys], rows)


@app.command()
def show(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix)."), as_json: bool = JSON
) -> None:
    """Show a run: params, metrics, tags, inputs and artifacts."""
    client = tracking()
    run = client.get_run(full_run_id(run_id))
    artifacts = client.list_artifacts(run.run_id)
    if as_json:
        emit_json({"run": run, "artifacts": artifacts})
        return
    console.print(
        f"[bold]{escape(run.name)}[/] {run.run_id}  {run.status.value}  started {when(run.start_time)}  ended {when(run.end_time)}"
    )
    console.print(
        f"user {run.user}  experiment {run.experiment_id}  parent {run.parent_run_id or '-'}",
        markup=False,
    )
    table("params", ["key", "value"], sorted(run.params.items()))
    table(
        "metrics (latest)",
        ["key", "value"],
        [(k, fmt_number(v)) for k, v in sorted(run.metrics.items())],
    )
    table("tags", ["key", "value"], sorted(run.tags.items()))
    if run.inputs:
        table(
            "inputs",
            ["name", "role", "rows", "digest"],
            [(i.name, i.role, i.rows, i.digest[:23]) for i in run.inputs],
        )
    table(
        "artifacts",
        ["path", "size", "digest"],
        [(a.path, a.size, a.digest[:23]) for a in artifacts],
    )


@app.command()
def compare(
    run_ids: list[str] = typer.Argument(..., help="Two or more run ids."), as_json: bool = JSON
) -> None:
    """Compare runs side by side: params and metrics, differences in bold."""
    if len(run_ids) < 2:
        raise InvalidArgument("compare needs at least two run ids")
    client = tracking()
    found = [client.get_run(full_run_id(r)) for r in run_ids]
    if as_json:
        emit_json({r.run_id: {"params": r.params, "metrics": r.metrics} for r in found})
        return
    rows = []
    for kind, attr in (("param", "params"), ("metric", "metrics")):
        for key in sorted({k for r in found for k in getattr(r, attr)}):
            values = [fmt_number(getattr(r, attr).get(key, "-")) for r in found]
            differs = len(set(values)) > 1  # the keys whose values differ, highlighted
            rows.append((kind, Text(key, style="bold yellow") if differs else key, *values))
    table("comparison", ["", "key", *[f"{r.name} ({r.run_id[:8]})" for r in found]], rows)
