"""``shipway experiments …``"""

from __future__ import annotations

import typer

from shipway.cli.common import JSON, tracking
from shipway.cli.output import emit_json, table, when

app = typer.Typer(help="Experiments: named groups of runs.", no_args_is_help=True)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List experiments with their number of runs."""
    found = tracking().list_experiments()
    if as_json:
        emit_json(
            [
                {
                    "experiment_id": e.experiment_id,
                    "name": e.name,
                    "created_at": e.created_at,
                    "runs": n,
                }
                for e, n in found
            ]
        )
        return
    table(
        "experiments",
        ["name", "id", "runs", "created (UTC)"],
        [(e.name, e.experiment_id, n, when(e.created_at)) for e, n in found],
    )
