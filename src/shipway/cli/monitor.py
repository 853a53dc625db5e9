"""``shipway monitor run DEPLOYMENT``: drift, quality and performance, window by window."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, errors, table
from shipway.errors import Forbidden

REFERENCE_HELP = "A logged dataset NAME@VERSION to judge against (default: the training data); held-out rows calibrate the estimate honestly."
SOURCE_HELP = "auto: drift from the servers' traffic profiles where they exist; rows: read every logged input."

app = typer.Typer(
    help="Monitor deployments: drift, data quality, performance.", no_args_is_help=True
)

if TYPE_CHECKING:
    from shipway.session import Session


def _metric(found: dict[str, Any] | None, name: str) -> str:
    if not found:
        return ""
    value = found.get(name)
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else f"{value:.3f}"


@app.command("run")
def run(
    deployment: str = typer.Argument(
        None, help="One deployment (default: every deployment's newest window)."
    ),
    window: str = typer.Option(
        None,
        "--window",
        "-w",
        help="hour, day, or a number of rows (default: [monitoring] window).",
    ),
    label: str = typer.Option(
        None, "--label", help="The label column of the training data (enables CBPE)."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Write the reports as JSON here."),
    source: str = typer.Option("auto", "--source", help=SOURCE_HELP),
    reference: str = typer.Option(None, "--reference", help=REFERENCE_HELP),
    replay: bool = typer.Option(
        False, "--replay", help="Alert rules judge every window in order, not only the newest."
    ),
    fail_on_drift: bool = typer.Option(
        False,
        "--fail-on-drift",
        help="Exit 1 when the newest window's inputs or predictions drifted (a CI gate).",
    ),
    as_json: bool = JSON,
) -> None:
    """Evaluate every window of a deployment's traffic against its training data."""
    from shipway.fluent.monitoring import monitor

    if deployment is None:  # a monitoring round, as `shipway server` runs it
        from shipway.session import current

        with console.status("monitoring every deployment"):
            changed = current().monitoring.run_round(replay=replay)
        if as_json:
            emit_json(changed)
        else:
            for alert in changed:
                console.print(
                    f"alert {alert.alert_id} {alert.status}: [bold]{escape(alert.deployment)}[/] "
                    + escape(f"{alert.rule} ({alert.metric} = {alert.value})")
                )
            console.print(f"{len(changed)} alert(s) opened or resolved", markup=False)
        _exit_if_unmonitored(current())
        return

    from shipway.session import current

    options: dict[str, Any] = {
        "window": window or current().settings.monitoring.window,
        "label": label,
        "source": source,
        "reference": reference,
        "replay": replay,
    }
    with console.status(f"monitoring {escape(deployment)}"):
        try:
            reports = monitor(deployment, **options)
        except Forbidden:  # through a server, as a viewer: the windows, without its [[alerts]]
            reports = monitor(deployment, rules=[], **options)
            errors.print(
                "read only: your role judges the windows; the server's alert rules did not run",
                markup=False,
                highlight=False,
            )
    if out is not None:
        out.write_text(json.dumps([r.to_dict() for r in reports], indent=2, default=str))
    if as_json:
        emit_json([r.to_dict() for r in reports])
    else:
        _table(deployment, reports)
    if fail_on_drift:
        _exit_if_drifted(reports)


def _exit_if_unmonitored(session: Session) -> None:
    """A round that could not judge a deployment is a failure a cron job must see: exit 1,
    one line each."""
    from shipway.automation.rounds import UNMONITORED

    missing = [a for a in session.alerts.list() if a.rule == UNMONITORED]
    for alert in missing:
        errors.print(
            f"not monitored: {alert.deployment}: {alert.evidence.get('reason', '')}",
            markup=False,
            highlight=False,
        )
    if missing:
        raise typer.Exit(1)


def _exit_if_drifted(reports: list[Any]) -> None:
    """The newest window's verdict as the exit status: 1 when its inputs or its
    predictions drifted, as for ``shipway drift`` (docs/reference/commands.md, the exit statuses)."""
    if not reports:
        return
    newest = reports[-1]
    drifted = newest.data_drift.get("dataset_drift") or newest.prediction_drift.get("drifted")
    if drifted:
        errors.print(f"drift found in window {newest.window}", markup=False, highlight=False)
        raise typer.Exit(1)


def _table(deployment: str, reports: list[Any]) -> None:
    metric = (
        "mae" if reports and reports[0].realised and "mae" in reports[0].realised else "accuracy"
    )
    rows = []
    for r in reports:
        short = {
            "missing": "missing",
            "out_of_range": "range",
            "unseen_categories": "unseen",
            "absent_columns": "absent",
        }
        issues = [f"{short.get(k, k)} {len(v)}" for k, v in r.quality.items() if v]
        rows.append(
            (
                r.window,
                f"{r.rows:,}",
                f"{r.label_coverage:.0%}",
                _drifted(r.data_drift),
                "yes" if r.prediction_drift["drifted"] else "-",
                _metric(r.realised, metric),
                _metric(r.estimated, metric),
                _errors(r.extra["health"]),
                ", ".join(issues) or "-",
            )
        )
    table(
        f"{deployment}: {len(reports)} window(s); --json for every value",
        [
            "window",
            "rows",
            "labels",
            "drifted",
            "pred. drift",
            metric,
            "estimated",
            "errors",
            "quality",
        ],
        rows,
    )


def _drifted(drift: dict[str, Any]) -> str:
    """The two most drifted columns, and how many more."""
    scores = drift["scores"]
    found = sorted(drift["drifted_columns"], key=lambda c: -(scores.get(c) or 0))
    if not found:
        return "-"
    return ", ".join(found[:2]) + (f" +{len(found) - 2}" if len(found) > 2 else "")


def _errors(health: dict[str, Any]) -> str:
    rate = health.get("error_rate")
    text = "-" if not rate else f"{rate:.1%}"
    return text + (f", {health['dropped_rows']} dropped" if health.get("dropped_rows") else "")


@app.command("report")
def report(
    deployment: str,
    out: Path = typer.Option(..., "--out", "-o", help="The HTML file to write."),
    window: str = typer.Option(
        None,
        "--window",
        "-w",
        help="hour, day, or a number of rows (default: [monitoring] window).",
    ),
    label: str = typer.Option(
        None, "--label", help="The label column of the training data (enables CBPE)."
    ),
    start: str = typer.Option(
        None, "--from", help="Only traffic from this time (ISO date or time, UTC)."
    ),
    end: str = typer.Option(
        None, "--to", help="Only traffic before this time (ISO date or time, UTC)."
    ),
    sensitive: list[str] = typer.Option(
        [], "--sensitive", help="A column to check fairness across (repeatable)."
    ),
    source: str = typer.Option("auto", "--source", help=SOURCE_HELP),
    reference: str = typer.Option(None, "--reference", help=REFERENCE_HELP),
) -> None:
    """Write a self-contained HTML report: drift heat map, performance, coverage, latency, fairness, alerts."""
    from shipway.monitoring.report_html import render
    from shipway.session import current

    ctx = current()
    with console.status(f"monitoring {escape(deployment)}"):
        reports = ctx.monitoring.monitor(
            deployment,
            window=window or ctx.settings.monitoring.window,
            label=label,
            rules=[],
            sensitive=sensitive or None,
            start=_time(start),
            end=_time(end),
            source=source,
            reference=reference,
        )
    alerts = ctx.alerts.list(deployment=deployment, include_resolved=True)
    out.write_text(render(deployment, reports, alerts))
    console.print(f"wrote {out}: {len(reports)} window(s)", markup=False)


def _time(value: str | None) -> float | None:
    from shipway.monitoring.service import parse_time

    return parse_time(value)
