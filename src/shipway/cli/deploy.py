"""``shipway deploy``, ``shipway serve`` and ``shipway predict``: the data plane's commands.

``shipway deploy create NAME --model M --version V [--strategy …]`` makes or changes a
deployment; ``shipway deploy list|status|history|weight|batching|promote|rollback …`` act on
existing ones. The old ``shipway deploy NAME --model …`` still works, with a note.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from shipway.cli.common import JSON, full_model_uri
from shipway.cli.output import console, emit_json, progress_bar, table, when
from shipway.errors import InvalidArgument

if TYPE_CHECKING:
    from shipway.session import Session

REASON = typer.Option("", "--reason", "-r", help="Why; written to the audit log.")


def _deployments() -> Any:
    from shipway.session import current

    return current().deployments


def _describe(d: Any) -> str:
    text = f"[bold]{escape(d.name)}[/] serves {escape(d.model)} version {d.stable}"
    if d.candidate is not None:
        share = f" at {d.weight:g}%" if d.strategy.value in ("canary", "ab") else ""
        sticky = f" by {d.sticky_key}" if d.sticky_key else ""
        text += f"; candidate version {d.candidate} ({d.strategy.value}{share}{sticky})"
    if d.follow:
        text += f"; follows @{d.follow}"
    if d.max_batch:
        text += f"; batches up to {d.max_batch} rows, waiting at most {d.max_wait_ms:g} ms"
    return text + f"  (revision {d.revision})"


class _CreateByDefault(TyperGroup):
    """``shipway deploy NAME --model M --version V``, the spelling before ``deploy create``,
    still works: a first word that is no subcommand is taken as ``create``'s NAME, with a
    note on stderr."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:  # typer's own click Context
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            print(
                f"note: `shipway deploy {args[0]} ...` is now `shipway deploy create "
                f"{args[0]} ...`; the old spelling will go",
                file=sys.stderr,
            )
            args = ["create", *args]
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_CreateByDefault,
    help="Deployments: create or change one, move its traffic, promote or roll it back.",
    no_args_is_help=True,
)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The deployment."),
    model: str = typer.Option(None, "--model", "-m", help="The registered model to serve."),
    version: int = typer.Option(None, "--version", "-v", help="Its version."),
    strategy: str = typer.Option(
        "direct", "--strategy", "-s", help="direct, canary, shadow, ab or blue-green."
    ),
    weight: float = typer.Option(
        None, "--weight", "-w", help="The candidate's percent of traffic (canary, ab)."
    ),
    sticky_key: str = typer.Option(
        None, "--sticky-key", help="The input field whose hash routes A/B traffic."
    ),
    reason: str = typer.Option("", "--reason", "-r", help="Why; written to the audit log."),
    as_json: bool = JSON,
) -> None:
    """Create a deployment, or change what it serves (a new version, or a candidate beside
    the stable one as a canary, shadow, A/B test or blue-green switch)."""
    if model is None or version is None:
        raise InvalidArgument(
            "a deployment needs --model and --version",
            hint="e.g. shipway deploy create churn-live --model churn --version 3",
        )
    result = _deployments().deploy(
        name,
        model=model,
        version=version,
        strategy=strategy,
        weight=weight,
        sticky_key=sticky_key,
        reason=reason,
    )
    _show(result, as_json)


@app.command("list")
def list_(as_json: bool = JSON) -> None:
    """Every deployment: what it serves, its candidate and strategy, who changed it last."""
    found = _deployments().list()
    if as_json:
        emit_json(found)
        return
    table(
        "deployments",
        [
            "name",
            "model",
            "stable",
            "candidate",
            "strategy",
            "weight",
            "revision",
            "changed (UTC)",
            "by",
        ],
        [
            (
                d.name,
                d.model,
                d.stable,
                d.candidate,
                d.strategy.value,
                f"{d.weight:g}%" if d.candidate else "",
                d.revision,
                when(d.updated_at),
                d.updated_by,
            )
            for d in found
        ],
    )


@app.command("status")
def status(name: str = typer.Argument(..., help="The deployment."), as_json: bool = JSON) -> None:
    """What a deployment serves now."""
    _show(_deployments().get(name), as_json)


@app.command("history")
def history(name: str = typer.Argument(..., help="The deployment."), as_json: bool = JSON) -> None:
    """Every change to a deployment: when, who, what and why."""
    events = _deployments().history(name)
    if as_json:
        emit_json(events)
        return
    table(
        f"history of {name}",
        ["when (UTC)", "who", "action", "to", "reason"],
        [(when(e.timestamp), e.actor, e.action, e.to_value, e.reason) for e in events],
    )


@app.command("weight")
def weight(
    name: str = typer.Argument(..., help="The deployment."),
    percent: float = typer.Argument(..., help="The candidate's percent of traffic."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Set the candidate's share of traffic (a canary or an A/B test)."""
    _show(_deployments().set_weight(name, percent, reason), as_json)


@app.command("batching")
def batching(
    name: str = typer.Argument(..., help="The deployment."),
    max_rows: int = typer.Argument(..., help="Rows per batch at most; 0 turns batching off."),
    max_wait_ms: float = typer.Option(
        2.0, "--max-wait-ms", help="The most a request waits for others."
    ),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Micro-batching: requests that arrive together go to the model as one batch."""
    _show(_deployments().set_batching(name, max_rows, max_wait_ms, reason), as_json)


@app.command("promote")
def promote(
    name: str = typer.Argument(..., help="The deployment."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """The candidate serves all traffic; the registry says so too (printed)."""
    _moved(name, "promote", reason, as_json)


@app.command("rollback")
def rollback(
    name: str = typer.Argument(..., help="The deployment."),
    reason: str = REASON,
    as_json: bool = JSON,
) -> None:
    """Back to the version before: the candidate goes, or the previous stable returns; the
    registry says so too (printed)."""
    _moved(name, "rollback", reason, as_json)


def _moved(name: str, action: str, reason: str, as_json: bool) -> None:
    deployments = _deployments()
    stages = _stages(_session(), name)
    move = deployments.promote if action == "promote" else deployments.rollback
    result = move(name, reason)
    moved = _stage_moves(_session(), result.model, stages)
    _show(result, as_json)
    if not as_json:
        for line in moved:  # what the registry did, in the same transaction
            console.print(f"registry: {line}", markup=False)


def _show(result: Any, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        console.print(_describe(result))


def _session() -> Any:
    from shipway.session import current

    return current()


def _stages(session: Session, name: str) -> dict[int, str]:
    """The registry stage of every version of the deployment's model, before a change."""
    deployment = session.deployments.get(name)
    return {v.version: v.stage.value for v in session.registry.list_versions(deployment.model)}


def _stage_moves(session: Session, model: str, before: dict[int, str]) -> list[str]:
    """Each version whose stage the change moved: ``churn v3: production -> archived``."""
    after = {v.version: v.stage.value for v in session.registry.list_versions(model)}
    return [
        f"{model} v{version}: {before[version]} -> {stage}"
        for version, stage in sorted(after.items())
        if version in before and before[version] != stage
    ]


def serve(
    targets: list[str] = typer.Argument(
        ..., metavar="DEPLOYMENT|models:/NAME@STAGE ...", help="What to serve."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    no_log: bool = typer.Option(False, "--no-log", help="Do not write the prediction log."),
    poll: float = typer.Option(2.0, "--poll", min=0.1, help="Seconds between routing checks."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Allow binding beyond loopback without authentication."
    ),
    access_log: bool = typer.Option(
        None,
        "--access-log/--no-access-log",
        help="One line per request on stderr, in the combined log format "
        "(default: [serve] access_log).",
        show_default=False,
    ),
) -> None:
    """Serve deployments: Open Inference Protocol, plain JSON and MLflow's /invocations."""

    from shipway.cli.server import is_loopback
    from shipway.config import RESOLVED_ENV, Settings
    from shipway.server.runner import serve as run
    from shipway.serving.server import check_log_writer, open_model_server

    settings = Settings.resolve()
    # Check the targets here, so a typo is one line now rather than a failing worker later.
    checked = open_model_server(settings, targets, log_predictions=False)
    try:
        if not no_log:
            check_log_writer(checked.session)
        authenticated = checked.auth.required()
    finally:
        checked.session.close()
    if not is_loopback(host) and not authenticated and not insecure:
        raise InvalidArgument(
            f"refusing to serve on {host} without authentication",
            hint="create a token with `shipway tokens create --role predict`, bind to "
            "127.0.0.1, or pass --insecure",
        )
    serving = dataclasses.replace(
        settings.serve,
        targets=tuple(targets),
        log_predictions=not no_log,
        poll_seconds=poll,
        access_log=settings.serve.access_log if access_log is None else access_log,
    )
    os.environ[RESOLVED_ENV] = dataclasses.replace(settings, serve=serving).to_json()
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # the workers count into shared files, so /metrics is whole whichever one answers
        metrics_dir = tempfile.mkdtemp(prefix="shipway-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        atexit.register(shutil.rmtree, metrics_dir, ignore_errors=True)
    from shipway.server.runner import check_listen

    check_listen(host, port)  # in use or not ours: one line now, not a traceback later
    console.print(
        f"serving {', '.join(targets)} on http://{host}:{port}  (OIP at /v2, plain JSON at /v1/models/NAME/predict)",
        markup=False,
    )
    run(
        "shipway.serving.main:create",
        host=host,
        port=port,
        workers=workers,
        factory=True,
        log_level="warning",
    )


def predict(
    model_uri: str = typer.Argument(
        ..., metavar="MODEL_URI", help="models:/NAME@STAGE, models:/NAME/V or runs:/ID/PATH."
    ),
    input_path: Path = typer.Option(
        ..., "--input", "-i", help="Parquet or CSV file, or a folder of them."
    ),
    output_path: Path = typer.Option(
        ..., "--output", "-o", help="Where the scores go (.parquet or .csv)."
    ),
    chunk_rows: int = typer.Option(100_000, "--chunk-rows", min=1, help="Rows scored at a time."),
    engine: str = typer.Option(
        "local", "--engine", help="local, or ray: one Ray task per input file."
    ),
    log_to: str = typer.Option(
        None, "--log-to", help="Also write the predictions to this deployment's prediction log."
    ),
    proba: bool = typer.Option(
        False, "--proba", help="A classifier's probability per class too: score_CLASS columns."
    ),
) -> None:
    """Score a file or folder in chunks, with bounded memory and a progress bar."""
    from shipway.serving.batch import score_files, score_into_log, score_with_ray
    from shipway.session import current

    if engine not in ("local", "ray"):
        raise InvalidArgument(f"unknown engine {engine!r}", hint="use local or ray")
    if log_to and engine == "ray":
        raise InvalidArgument("--log-to works with the local engine")
    if log_to and not model_uri.startswith("models:/"):
        raise InvalidArgument("--log-to needs a registered model (models:/NAME/VERSION or @STAGE)")
    ctx = current()
    model_uri = full_model_uri(model_uri)
    model = ctx.registry.load(model_uri)
    with progress_bar() as bar:
        if engine == "ray":
            rows = score_with_ray(
                model, input_path, output_path, chunk_rows=chunk_rows, progress=bar, proba=proba
            )
        elif log_to:
            ctx.deployments.get(log_to)
            rows = score_into_log(
                model,
                ctx.registry.resolve(model_uri).version,
                input_path,
                output_path,
                deployment=log_to,
                log=ctx.predictions.writer(),
                chunk_rows=chunk_rows,
                progress=bar,
                proba=proba,
                caller=ctx.actor,
            )
        else:
            rows = score_files(
                model, input_path, output_path, chunk_rows=chunk_rows, progress=bar, proba=proba
            )
    console.print(f"scored {rows:,} rows with {model_uri} into {output_path}", markup=False)


def package(
    model_uri: str = typer.Argument(
        ..., metavar="MODEL_URI", help="models:/NAME/VERSION or models:/NAME@STAGE."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="A new folder for the bundle."),
    name: str = typer.Option(
        None, "--name", help="The deployment name inside the bundle (default: the model's)."
    ),
) -> None:
    """Write a self-contained bundle: the model, pinned requirements, a Dockerfile, a Kubernetes manifest."""
    from shipway.serving.package import package_model
    from shipway.session import current

    ctx = current()
    with console.status(f"packaging {escape(model_uri)}"):
        folder = package_model(ctx.registry, model_uri, out, name=name)
    console.print(
        f"wrote {folder}: model store, requirements.txt, Dockerfile, kubernetes.yaml", markup=False
    )
    console.print(
        f"  try it: cd {folder} && pip install -r requirements.txt && SHIPWAY_HOME=store shipway serve ...",
        markup=False,
    )
