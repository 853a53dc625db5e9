"""``shipway``: the command-line entry point, and how user errors are shown."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from shipway import __version__
from shipway.cli import (
    alerts,
    artifacts,
    data,
    deploy,
    experiments,
    loops,
    maturity,
    models,
    monitor,
    pipeline,
    project,
    runs,
    tokens,
)
from shipway.cli.output import console, errors
from shipway.cli.server import server, ui
from shipway.errors import ShipwayError

app = typer.Typer(
    help="shipway: carry a model from a notebook to production and keep it healthy there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # help is plain text: "[loops.NAME]" is a table, not markup
)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(models.app, name="models")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(data.app, name="data")
app.add_typer(tokens.app, name="tokens")
app.add_typer(monitor.app, name="monitor")
app.add_typer(alerts.app, name="alerts")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(loops.app, name="loops")
app.command("init")(project.init)
app.command("check")(project.check)
app.command("controller")(loops.controller)
app.command("maturity")(maturity.maturity)
app.command("drift")(data.drift)
app.command("server")(server)
app.command("ui")(ui)
app.add_typer(deploy.app, name="deploy")
app.command("serve")(deploy.serve)
app.command("predict")(deploy.predict)
app.command("package")(deploy.package)


@app.command()
def demo(
    quick: bool = typer.Option(False, "--quick", help="Train on a sample, for a fast look."),
    keep_running: bool = typer.Option(
        False, "--keep-running", help="Leave the model server up afterwards, to explore."
    ),
) -> None:
    """Train a flight-delay model, promote it, serve six months and let the loop heal it."""
    from shipway.demo.run import run_demo

    run_demo(quick=quick, keep_running=keep_running)


@app.command()
def version() -> None:
    """Print shipway's version."""

    console.print(__version__)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"shipway {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """shipway: carry a model from a notebook to production and keep it healthy there."""


def main(argv: list[str] | None = None) -> None:
    """Run the command. A usage error shows click's usage line and exits 2; a user error
    prints one line (``error: …``) and exits 2, a platform failure 3; never a traceback."""
    try:
        app(args=argv, prog_name="shipway")  # standalone: usage errors are shown and exit 2
    except ShipwayError as exc:
        errors.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        errors.print("aborted")
        sys.exit(130)


if __name__ == "__main__":
    main()
