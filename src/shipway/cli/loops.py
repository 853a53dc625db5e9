"""``shipway controller [--once]`` and ``shipway loops status``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

import typer

from shipway.cli.common import JSON
from shipway.cli.output import console, emit_json, table, when

if TYPE_CHECKING:
    from shipway.automation.controller import Controller
    from shipway.automation.loops import Loop
    from shipway.session import Session

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
        f"{len(control.loops)} loop(s); Ctrl-C or SIGTERM stops it",
        markup=False,
    )
    stopping = _stop_on_signals(control)
    try:
        while not stopping.is_set():
            try:
                control.scheduled_round()
            except Exception as exc:  # a store hiccup must not end the controller
                console.print(f"a round failed (the next one runs on time): {exc}", markup=False)
            if stopping.wait(control.interval):
                break
    finally:
        control.stop()
    if not control.wait_for_training(0) or any(t.is_alive() for t in control.threads.abandoned):
        # A training thread cannot be stopped, and the pipeline's worker threads would keep
        # the interpreter waiting at exit; the lease is handed on and the state is stored.
        console.print("stopped; a training was abandoned (it runs again next start)")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    console.print("stopped; the lease is handed on", markup=False)


def _stop_on_signals(control: Controller) -> threading.Event:
    """SIGINT (Ctrl-C) and SIGTERM (kill, systemd, Kubernetes) end the rounds cleanly."""
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()
        control.stopping.set()  # a training thread goes no further than its gate
        # a second Ctrl-C or SIGTERM does not wait: the default ends the process at once
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    return stopping


@app.command("status")
def status(
    deployment: str = typer.Argument(None, help="One loop's deployment (default: every loop)."),
    as_json: bool = JSON,
) -> None:
    """Each loop's state: idle, training, gated, waiting for approval, canary step, promoted,
    rolled back, with its evidence."""
    from shipway.session import current

    found = current().loops.status(deployment)  # the stores', or a server's through its API
    if as_json:
        emit_json(found)
        return
    _show(found)


def _print_status(
    session: Session, loops: dict[str, Loop], deployment: str | None, *, busy_only: bool = False
) -> None:
    """The loops' table; ``busy_only``: after a round, the loops that are not idle, and a
    count of those that are (a hundred idle rows say less than one line)."""
    from shipway.automation.status import loops_status

    _show(loops_status(session, loops, deployment), busy_only=busy_only)


def _show(found: list[dict[str, Any]], *, busy_only: bool = False) -> None:
    if not found:
        console.print("no loops: declare one as [loops.DEPLOYMENT] in shipway.toml", markup=False)
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
    for status in found:  # what the candidate is monitored against, where it is borrowed
        wide = status.get("wide_margin")
        if wide and status["state"] == "canary":
            console.print(
                f"{status['deployment']}: the gate's gain {wide['gain']:.4g} ± {wide['stderr']:.2g} "
                f"(z {wide['z']:.1f} ≥ {wide['z_needed']:g}) is wider than {wide['wide_margin']:g}: "
                "the canary took one step, not every one",
                markup=False,
            )
        borrowed = status.get("reference") or ""
        if "champion" in borrowed or borrowed.startswith("none"):
            console.print(f"{status['deployment']}: monitored against {borrowed}", markup=False)
