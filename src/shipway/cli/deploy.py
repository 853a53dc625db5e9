"""``shipway deploy``, ``shipway serve`` and ``shipway predict``: the data plane's commands.

``shipway deploy NAME --model M --version V [--strategy …]`` changes a deployment;
``shipway deploy promote|rollback|status|list|history|weight|batching …`` act on existing ones
(so those words cannot name a deployment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from shipway.cli.common import JSON, full_model_uri
from shipway.cli.output import console, emit_json, table, when
from shipway.errors import InvalidArgument

ACTIONS = ("promote", "rollback", "status", "list", "history", "weight", "batching")


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


def deploy(
    name_or_action: str = typer.Argument(
        ...,
        metavar="NAME",
        help="The deployment (or promote, rollback, status, list, history, weight).",
    ),
    target: str = typer.Argument(
        None,
        metavar="[NAME|WEIGHT]",
        help="The deployment an action is for; for weight: NAME WEIGHT.",
    ),
    value: float = typer.Argument(None, hidden=True),
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
    max_wait_ms: float = typer.Option(
        2.0, "--max-wait-ms", help="batching: the most a request waits for others."
    ),
    reason: str = typer.Option("", "--reason", "-r", help="Why; written to the audit log."),
    as_json: bool = JSON,
) -> None:
    """Create or change a deployment, or promote, roll back or show one.

    Micro-batching: ``shipway deploy batching NAME 32 [--max-wait-ms 2]`` (0 turns it off).
    """
    deployments = _deployments()
    if name_or_action == "list":
        found = deployments.list()
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
        return
    if name_or_action in ACTIONS:
        if not target:
            raise InvalidArgument(f"`shipway deploy {name_or_action}` needs the deployment's name")
        if name_or_action == "history":
            events = deployments.history(target)
            if as_json:
                emit_json(events)
                return
            table(
                f"history of {target}",
                ["when (UTC)", "who", "action", "to", "reason"],
                [(when(e.timestamp), e.actor, e.action, e.to_value, e.reason) for e in events],
            )
            return
        if name_or_action == "weight":
            if value is None:
                raise InvalidArgument("usage: shipway deploy weight NAME PERCENT")
            result = deployments.set_weight(target, value, reason)
        elif name_or_action == "batching":
            if value is None or value != int(value):
                raise InvalidArgument(
                    "usage: shipway deploy batching NAME MAX_ROWS [--max-wait-ms 2]"
                )
            result = deployments.set_batching(target, int(value), max_wait_ms, reason)
        elif name_or_action in ("promote", "rollback"):
            stages = _stages(_session(), target)
            move = deployments.promote if name_or_action == "promote" else deployments.rollback
            result = move(target, reason)
            moved = _stage_moves(_session(), result.model, stages)
        else:
            result = deployments.get(target)
        if as_json:
            emit_json(result)
        else:
            console.print(_describe(result))
            if name_or_action in ("promote", "rollback"):
                for line in moved:  # what the registry did, in the same transaction
                    console.print(f"registry: {line}", markup=False)
        return
    if target is not None:
        raise InvalidArgument(f"unexpected argument {target!r}", hint="see `shipway deploy --help`")
    if model is None or version is None:
        raise InvalidArgument(
            "a deployment needs --model and --version",
            hint="e.g. shipway deploy churn-live --model churn --version 3",
        )
    result = deployments.deploy(
        name_or_action,
        model=model,
        version=version,
        strategy=strategy,
        weight=weight,
        sticky_key=sticky_key,
        reason=reason,
    )
    if as_json:
        emit_json(result)
    else:
        console.print(_describe(result))


def _session() -> Any:
    from shipway.session import current

    return current()


def _stages(session: Any, name: str) -> dict[int, str]:
    """The registry stage of every version of the deployment's model, before a change."""
    deployment = session.deployments.get(name)
    return {v.version: v.stage.value for v in session.registry.list_versions(deployment.model)}


def _stage_moves(session: Any, model: str, before: dict[int, str]) -> list[str]:
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
    import atexit
    import dataclasses
    import os
    import shutil
    import tempfile

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
    from shipway.cli.output import progress_bar
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
