"""``shipway data add|list|show|diff|get|validate`` and ``shipway drift``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, fmt_number, table, when
from shipway.errors import NotFound

app = typer.Typer(
    help="Datasets: versioned snapshots, schemas and validation.", no_args_is_help=True
)


def _registry() -> Any:
    from shipway.session import current

    return current().datasets


def read_table(ref: str) -> Any:
    """A CSV or Parquet file, or a stored dataset version (NAME@V, datasets:/NAME/V)."""
    from shipway.data.files import read_table as read

    return read(ref, lambda name: _registry().load(name))


@app.command()
def add(
    path: Path = typer.Argument(..., help="A file or folder."),
    name: str = typer.Option(
        None, "--name", "-n", help="Dataset name (default: the file or folder name)."
    ),
    description: str = typer.Option("", "--description", "-d"),
    as_json: bool = JSON,
) -> None:
    """Snapshot a file or folder as the next version of a dataset."""
    if not path.exists():
        raise NotFound(f"no file or folder at {path}")
    total = (
        path.stat().st_size
        if path.is_file()
        else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    )
    with Progress(
        *Progress.get_default_columns()[:1],
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("hashing", total=total)
        version, new = _registry().add(
            name or path.stem,
            path,
            description=description,
            progress=lambda n: progress.advance(task, n),
        )
    if as_json:
        emit_json({"version": version, "new": new})
        return
    state = "new version" if new else "unchanged: same content as"
    console.print(
        f"{state} [bold]{escape(version.name)}[/]@{version.version}  {version.files} file(s), {version.size:,} bytes  {version.digest[:23]}"
    )


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """List datasets and their newest versions."""
    found = _registry().list()
    if as_json:
        emit_json([{"name": n, "latest": v, "updated_at": t} for n, v, t in found])
        return
    table(
        "datasets",
        ["name", "latest version", "updated (UTC)"],
        [(n, v, when(t)) for n, v, t in found],
    )


@app.command()
def show(
    ref: str = typer.Argument(..., help="NAME (all versions) or NAME@VERSION."),
    as_json: bool = JSON,
) -> None:
    """Show a dataset's versions, or one version's schema, profile and the runs that used it."""
    from shipway.data.versions import parse_dataset_ref

    registry = _registry()
    name, version = parse_dataset_ref(ref)
    if version is None:
        versions = registry.versions(name)
        if as_json:
            emit_json(versions)
            return
        table(
            f"dataset {name}",
            ["version", "kind", "rows", "files", "bytes", "digest", "by", "created (UTC)"],
            [
                (
                    v.version,
                    v.kind,
                    v.rows,
                    v.files,
                    f"{v.size:,}",
                    v.digest[:23],
                    v.created_by,
                    when(v.created_at),
                )
                for v in versions
            ],
        )
        return
    found = registry.get(name, version)
    runs = registry.runs_using(found)
    if as_json:
        emit_json({"version": found, "runs": [{"run_id": r, "role": role} for r, role in runs]})
        return
    console.print(
        f"[bold]{escape(found.uri)}[/]  {found.kind} ({found.format}), {found.rows if found.rows is not None else '?'} rows, "
        f"{found.size:,} bytes, {found.digest}"
    )
    if found.profile:
        rows = []
        for column, p in found.profile["columns"].items():
            total = p["count"] + p["missing"] + p["infinite"]
            summary = (
                f"mean {fmt_number(p['mean'])}, min {fmt_number(p['minimum'])}, max {fmt_number(p['maximum'])}"
                if p["kind"] == "numeric"
                else f"{len(p['categories'])} categories"
            )
            rows.append(
                (column, p["kind"], f"{p['missing'] / total:.1%}" if total else "-", summary)
            )
        table("profile", ["column", "kind", "missing", "summary"], rows)
    table("used by runs", ["run", "role"], runs)


@app.command()
def diff(name: str, v1: int, v2: int, as_json: bool = JSON) -> None:
    """What changed between two versions: size, rows, columns, files."""
    from shipway.data.diff import diff_versions

    changes = diff_versions(_registry(), name, v1, v2)
    if as_json:
        emit_json(changes)
        return
    console.print(
        f"[bold]{escape(name)}[/] {v1} → {v2}: "
        + escape(", ".join(f"{k} {a} → {b}" for k, (a, b) in changes["summary"].items()))
    )
    if changes["columns"]:
        table("columns", ["column", "change", "detail"], changes["columns"])
    if changes["files"]:
        table("files", ["path", "change"], changes["files"][:200])


@app.command()
def get(
    ref: str = typer.Argument(..., help="NAME@VERSION (or NAME for the newest)."),
    out: Path = typer.Option(..., "--out", "-o", help="File or folder to write."),
) -> None:
    """Write a version out, byte-identical, every file's hash verified."""
    registry = _registry()
    found = registry.get(ref)
    target = registry.checkout(found, out)
    console.print(f"wrote {found.uri} to {target}", markup=False)


@app.command()
def validate(
    path: str = typer.Argument(..., help="A CSV or Parquet file, or NAME@VERSION."),
    schema: Path = typer.Option(
        ..., "--schema", "-s", help="A schema in YAML or JSON (see `shipway data schema`)."
    ),
    as_json: bool = JSON,
) -> None:
    """Check data against a schema; exits 1 when any expectation is broken."""
    from shipway.data.schema import Schema
    from shipway.data.validation import validate as run_validation

    if not schema.is_file():
        raise NotFound(f"no schema file at {schema}")
    result = run_validation(read_table(path), Schema.load(schema))
    if as_json:
        emit_json(result.to_dict())
    else:
        console.print(result.summary(), highlight=False, markup=False)
    if not result.ok:
        raise typer.Exit(1)


@app.command("schema")
def infer(
    path: str = typer.Argument(..., help="A CSV or Parquet file, or NAME@VERSION."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the schema here (.yaml or .json)."),
) -> None:
    """Infer a schema from data, to edit and then validate against."""
    from shipway.data.schema import infer_schema

    inferred = infer_schema(read_table(path))
    if out is None:
        console.print(inferred.to_yaml(), highlight=False, markup=False)
    else:
        inferred.save(out)
        console.print(f"wrote {out}", markup=False)


def drift(
    reference: str = typer.Option(
        ..., "--reference", "-r", help="CSV/Parquet file or NAME@VERSION."
    ),
    current: str = typer.Option(..., "--current", "-c", help="CSV/Parquet file or NAME@VERSION."),
    report: Path = typer.Option(None, "--report", help="Write the HTML report here."),
    json_out: Path = typer.Option(None, "--json-out", help="Write the result as JSON here."),
    method: str = typer.Option(
        "auto", "--method", help="auto, ks, wasserstein, psi, jensenshannon, chisquare or z."
    ),
    threshold: float = typer.Option(None, "--threshold"),
    drift_share: float = typer.Option(
        0.5, "--drift-share", help="Share of drifted columns that makes the dataset drift."
    ),
    as_json: bool = JSON,
) -> None:
    """Compare two datasets column by column; exits 1 when the dataset drifted."""
    from shipway.data.drift_report import drift_report

    result = drift_report(
        read_table(reference),
        read_table(current),
        reference_name=reference,
        current_name=current,
        method=method,
        threshold=threshold,
        drift_share=drift_share,
    )
    if report is not None:
        result.save_html(report)
    if json_out is not None:
        result.to_json(json_out)
    if as_json:
        emit_json(result.to_dict())
    else:
        table(
            None,
            ["column", "verdict", "test", "score", "threshold", "note"],
            [
                (
                    c.column,
                    "DRIFT" if c.drifted else c.status,
                    c.method,
                    fmt_number(c.score) if c.score is not None else "-",
                    c.threshold,
                    c.note,
                )
                for c in result.columns
            ],
        )
        console.print(
            f"{'dataset drift' if result.dataset_drift else 'no dataset drift'}: {result.result.n_drifted} column(s) drifted"
            + (f"; report: {report}" if report else ""),
            markup=False,
        )
    if result.dataset_drift:
        raise typer.Exit(1)
