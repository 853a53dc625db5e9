"""``shipway artifacts list|get``"""

from __future__ import annotations

from pathlib import Path

import typer

from shipway.cli.common import JSON, full_run_id, tracking
from shipway.cli.output import console, emit_json, table

app = typer.Typer(
    help="Artifacts: files a run stored (models, plots, tables).", no_args_is_help=True
)


@app.command("list")
def list_(
    run_id: str, path: str = typer.Argument("", help="Only under this path."), as_json: bool = JSON
) -> None:
    """List a run's artifacts with their size and hash."""
    infos = tracking().list_artifacts(full_run_id(run_id), path)
    if as_json:
        emit_json(infos)
        return
    table(None, ["path", "size", "digest"], [(i.path, i.size, i.digest) for i in infos])


@app.command()
def get(
    run_id: str,
    path: str = typer.Argument(..., help="Artifact file or folder, e.g. 'model'."),
    out: Path = typer.Option(Path("."), "--out", "-o", help="Folder to download into."),
) -> None:
    """Download an artifact (file or folder), verifying every file's hash."""
    target = tracking().download_artifacts(full_run_id(run_id), path, out)
    console.print(f"downloaded to {target}", markup=False)
