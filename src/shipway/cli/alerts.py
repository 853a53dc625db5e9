"""``shipway alerts list|ack|resolve``."""

from __future__ import annotations

from typing import Any

import typer

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, table, when
from shipway.monitoring.alerts import fired

app = typer.Typer(help="Alerts raised by monitoring.", no_args_is_help=True)


def _alerts() -> Any:
    from shipway.session import current

    return current().alerts


def _value(value: float | None, window: str) -> str:
    return ("-" if value is None else f"{value:.4g}") + f" ({window})"


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Resolved alerts too."),
    deployment: str = typer.Option(None, "--deployment", "-d"),
    as_json: bool = JSON,
) -> None:
    """Open and acknowledged alerts, newest first."""
    found = _alerts().list(include_resolved=all_, deployment=deployment)
    if as_json:
        emit_json(found)
        return
    table(
        "alerts",
        [
            "id",
            "deployment",
            "rule",
            "severity",
            "status",
            "threshold",
            "fired at (window)",
            "latest (window)",
            "opened (UTC)",
        ],
        [
            (
                a.alert_id,
                a.deployment,
                a.rule,
                a.severity,
                a.status,
                f"{a.threshold:g}",
                _value(*fired(a)),
                _value(a.value, a.window),
                when(a.opened_at),
            )
            for a in found
        ],
    )


@app.command()
def ack(alert_id: int) -> None:
    """Acknowledge an alert: someone is on it (it still resolves by itself)."""
    alert = _alerts().acknowledge(alert_id)
    console.print(f"alert {alert.alert_id} acknowledged by {alert.acknowledged_by}", markup=False)


@app.command()
def resolve(alert_id: int) -> None:
    """Resolve an alert by hand."""
    alert = _alerts().resolve(alert_id)
    console.print(f"alert {alert.alert_id} resolved", markup=False)
