"""``shipway controller [--once]`` and ``shipway loops status``."""

from __future__ import annotations

from typing import Any

import typer

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, table, when

app = typer.Typer(
    help="Continuous-training loops ([loops.*] in shipway.toml).", no_args_is_help=True
)


def _local_session() -> Any:
    from shipway.errors import InvalidArgument
    from shipway.session import current

    session = current()
    if session.is_remote:
        raise InvalidArgument(
            "the controller runs beside the stores, not through a server",
            hint="point it at the store (SHIPWAY_TRACKING_URI=sqlite:///... or postgresql://...); "
            "a `shipway server` runs the rounds itself",
        )
    return session


def controller(
    once: bool = typer.Option(False, "--once", help="Run one round and exit (for cron and tests)."),
    interval: float = typer.Option(
        None, "--interval", help="Minutes between rounds (default: [monitoring] interval_minutes)."
    ),
) -> None:
    """Monitoring, triggers, pipelines, gates, approvals and rollout steps, round after round."""
    from shipway.automation.controller import Controller

    # rounds forever train aside, so one loop's pipeline never holds up another's canary
    control = Controller(_local_session(), interval_minutes=interval, background=not once)
    if once:
        with console.status("one controller round"):
            acted = control.once()
        if not acted:
            console.print("another controller holds the lease and runs the rounds: nothing done")
            return
        _print_status(control.session, control.loops, None, busy_only=True)
        return
    if control.interval <= 0:
        from shipway.errors import InvalidArgument

        raise InvalidArgument("the interval is 0: use --once, or --interval MINUTES")
    console.print(
        f"controller: a round every {control.interval / 60:g} minutes over "
        f"{len(control.loops)} loop(s); Ctrl-C stops"
    )
    try:
        while True:
            try:
                control.scheduled_round()
            except Exception as exc:  # a store hiccup must not end the controller
                console.print(f"a round failed (the next one runs on time): {exc}", markup=False)
            if control._stop.wait(control.interval):
                break
    except KeyboardInterrupt:
        pass
    finally:
        control.stop()


@app.command("status")
def status(
    deployment: str = typer.Argument(None, help="One loop's deployment (default: every loop)."),
    as_json: bool = JSON,
) -> None:
    """Each loop's state: idle, training, gated, waiting for approval, canary step, promoted,
    rolled back, with its evidence."""
    from shipway.automation.loops import loops_from_settings

    session = _local_session()
    loops = loops_from_settings(session.settings)
    if as_json:
        from shipway.automation.status import loops_status

        emit_json(loops_status(session, loops, deployment))
        return
    _print_status(session, loops, deployment)


def _print_status(
    session: Any, loops: Any, deployment: str | None, *, busy_only: bool = False
) -> None:
    """The loops' table; ``busy_only``: after a round, the loops that are not idle, and a
    count of those that are (a hundred idle rows say less than one line)."""
    from shipway.automation.status import loops_status

    found = loops_status(session, loops, deployment)
    if not found:
        console.print("no loops: declare one as [loops.DEPLOYMENT] in shipway.toml")
        return
    if busy_only:
        idle = [s for s in found if s["state"] == "idle"]
        found = [s for s in found if s["state"] != "idle"]
        if idle:
            console.print(f"{len(idle)} loop(s) idle, waiting for a trigger", markup=False)
        if not found:
            return
    table(
        "loops",
        ["deployment", "state", "champion", "candidate", "why", "updated (UTC)"],
        [
            (
                s["deployment"],
                s["shown"],
                s["champion"] if s["champion"] is not None else "-",
                s["candidate"] if s["candidate"] is not None else "-",
                s["message"],
                when(s["updated_at"]),
            )
            for s in found
        ],
    )
