"""The demo's second half: the promoted model in production, and the loop that heals it.

The model, trained on January and February, is deployed and served by a real model server
on loopback. The flights of March to August go through it a month at a time, their
late/on-time labels arrive after each month, and monitoring judges each month against
unseen winter flights. When summer storms cost accuracy, the alert starts the loop: the
controller retrains on labelled traffic, gates the candidate against the champion on the
newest labels, and rolls it out as a canary that promotes itself on live evidence.
"""

from __future__ import annotations

import calendar
import dataclasses
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

import shipway as sw
from shipway.config import LoopSettings, Settings
from shipway.demo.data import FEATURES, LABEL, load_flights

if TYPE_CHECKING:
    from shipway.automation.controller import Controller
    from shipway.automation.records import ControlRecords

DEPLOYMENT = "flight-delay-live"
MONTHS = ["March", "April", "May", "June", "July", "August"]
MONTH_NAMES = [calendar.month_name[m] for m in range(13)]


@dataclass
class LoopOutcome:
    report: Path
    months: list[dict[str, Any]]  # month, report, champion, moves, fired
    failed: int  # requests that did not get an answer


BATCH = 250  # flights per request


class _Background:
    """A uvicorn server for an ASGI app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(
            target=self.server.run, name="shipway-demo-serve", daemon=True
        )

    def __enter__(self) -> str:

        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:  # the lifespan loads and warms the model first
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo's model server did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: Any) -> None:
        self.server.should_exit = True  # a clean shutdown writes every logged prediction
        self.thread.join(timeout=30)


ACCURACY_FLOOR = 0.72  # the "accuracy drop" rule, and the gate's floor


def demo_loop_settings(per_month: int) -> LoopSettings:
    """The loop of ``flight-delay-live``, as ``[loops.flight-delay-live]`` would declare it."""
    return LoopSettings(
        "shipway.demo.retrain:retrain",
        triggers=("alert:accuracy drop", f"labels:{per_month}"),
        gate={
            "metric": "accuracy",
            "min_gain": 0.005,
            "holdout_rows": per_month // 2,
            "refit": True,
        },
        approval="auto",
        rollout={"steps": [20, 50, 100], "min_requests": 6, "max_latency_ratio": 2.0},
    )


def demo_loop(per_month: int) -> Any:
    """The demo's loop, checked as the controller reads it from shipway.toml."""
    from shipway.automation.loops import Loop

    return Loop.from_settings(DEPLOYMENT, demo_loop_settings(per_month))


def ui_settings(settings: Settings, per_month: int) -> Settings:
    """The demo's store as a server shows it: its loop declared (so the Loops page has it) and
    no scheduled rounds (the demo is over; the server only shows what happened)."""
    monitoring = dataclasses.replace(settings.monitoring, interval_minutes=0)
    loops = {**settings.loops, DEPLOYMENT: demo_loop_settings(per_month)}
    return dataclasses.replace(settings, loops=loops, monitoring=monitoring)


def _keep_running(console: Console, settings: Settings, per_month: int, model_url: str) -> None:
    """The model server stays up, and the UI on the demo's store beside it, until Ctrl-C."""
    from shipway.server.app import create_app

    try:  # from before the line that invites Ctrl-C, so it never escapes as an error
        with _Background(create_app(ui_settings(settings, per_month))) as ui_url:
            console.print(
                f"the UI is up at {ui_url.replace('127.0.0.1', 'localhost')}/ and the model server "
                f"at {model_url} (try {model_url}/v2/models/{DEPLOYMENT}); Ctrl-C stops both",
                markup=False,
            )
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass


def _rules(per_month: int) -> list[Any]:

    return [
        sw.AlertRule(
            "weather drift", "data_drift.share_drifted", ">=", 0.3, min_rows=per_month // 2
        ),
        sw.AlertRule(
            "accuracy drop",
            "realised.accuracy",
            "<",
            ACCURACY_FLOOR,
            min_rows=per_month // 2,
            severity="critical",
        ),
    ]


def _said(before: Any, after: Any, steps: tuple[int, ...]) -> str | None:
    """A loop's move in a few words, for the month's row (None: it did not move)."""
    if before is not None and (before.state, before.step, before.candidate) == (
        after.state,
        after.step,
        after.candidate,
    ):
        return None
    version = f"v{after.candidate}"
    verdict = after.detail.verdict or {}
    if after.state == "canary":
        if before is None or before.state != "canary":
            gate = verdict.get("candidate"), verdict.get("champion")
            scores = f" (gate {gate[0]:.3f} vs {gate[1]:.3f})" if None not in gate else ""
            return f"retrained {version}{scores}, canary {steps[after.step]}%"
        return f"canary {steps[after.step]}%"
    return {
        "promoted": f"promoted {version}",
        "rolled_back": f"rolled back {version}: {after.detail.message.split(': ', 1)[-1]}",
        "rejected": f"{version} rejected by the gate",
        "failed": "retraining failed",
    }.get(after.state)


def run_loop(
    model: str,
    version: int,
    console: Console,
    *,
    reference: Any,
    quick: bool = False,
    keep_running: bool = False,
    months: tuple[int, ...] = (3, 4, 5, 6, 7, 8),
    per_month: int | None = None,
    parts: int = 3,
    batch: int = 10,
) -> LoopOutcome:
    """Deploy, serve six months with the loop closed (``parts`` of a month between
    controller rounds, ``batch`` rows per request); returns what happened.

    ``reference`` is labelled winter flights the model never saw: scores on training rows are
    over-confident, so held-out rows calibrate the estimate without labels honestly."""

    import httpx

    from shipway.automation.controller import Controller
    from shipway.automation.records import ControlRecords
    from shipway.monitoring.report_html import render
    from shipway.serving.server import open_model_server
    from shipway.session import current

    per_month = per_month or (400 if quick else 1500)
    started = time.time()  # a demo run again judges only its own traffic, with no alert open
    for alert in sw.alerts(deployment=DEPLOYMENT):
        current().alerts.resolve(alert.alert_id)
    sw.deploy(DEPLOYMENT, model=model, version=version, reason="the demo's production model")
    settings = current().settings
    server = open_model_server(settings, [DEPLOYMENT], poll_seconds=3600)  # refreshed below
    loop = demo_loop(per_month)
    controller = Controller(current(), {DEPLOYMENT: loop})
    records = ControlRecords(current())
    records.forget_loop(DEPLOYMENT)  # a demo run again starts its loop anew
    controller.loop_round()  # the loop starts: what exists now is not news
    rules = _rules(per_month)
    rows: list[dict[str, Any]] = []
    reports: list[Any] = []
    failed = 0
    try:
        with (
            _Background(server.app) as url,
            httpx.Client(base_url=url, timeout=60) as client,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=console,
            ) as progress,
        ):
            span = f"{MONTH_NAMES[months[0]]}–{MONTH_NAMES[months[-1]]}"
            task = progress.add_task(f"serving {span} through {url}", total=len(months))
            for month in months:
                name = MONTH_NAMES[month]
                progress.update(task, description=f"{name}: serving through {url}")
                flights = load_flights([month]).sample(per_month, random_state=month)
                labels: list[dict[str, Any]] = []
                moves: list[str] = []
                month_started = time.time()
                # the month in parts, a controller round after each: how fast a canary can
                # move against the month; ``batch`` rows per request
                for part in (flights.iloc[i::parts] for i in range(parts)):
                    failed += _send(client, part, batch, labels)
                    moves += _round(controller, server, records, progress, task, name)
                sw.log_ground_truth(DEPLOYMENT, labels)  # the month's flights have landed
                progress.update(task, description=f"{name}: monitoring against winter flights")
                report = sw.monitor(
                    DEPLOYMENT,
                    window=per_month,
                    label=LABEL,
                    rules=rules,
                    replay=True,
                    reference=reference[[*FEATURES, LABEL]],
                    start=month_started,
                )
                for window in report:  # the month is the window, in the report's charts
                    window.window = name if len(report) == 1 else f"{name}: {window.window}"
                reports += report
                moves += _round(controller, server, records, progress, task, name)
                fired = [
                    a.rule
                    for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True)
                    if a.opened_at >= month_started and not a.rule.startswith("loop:")
                ]
                rows.append(
                    {
                        "month": name,
                        "report": report[-1] if report else None,
                        "champion": sw.get_deployment(DEPLOYMENT).stable,
                        "moves": moves,
                        "fired": sorted(set(fired)),
                    }
                )
                progress.advance(task)
            if keep_running:
                _keep_running(console, settings, per_month, url)
    finally:
        server.session.close()
    alerts = [
        a for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True) if a.opened_at >= started
    ]
    _table(console, rows)
    console.print(
        f"{failed} failed request(s). The estimate needs no labels, but it cannot see that "
        "summer storms change what delays a flight (concept drift); the late labels can, and "
        f"the loop retrained on them. See `shipway deploy history {DEPLOYMENT}` and "
        f"`shipway models history {model}`.",
        markup=False,
    )
    out = Path(settings.home) / "reports" / f"{DEPLOYMENT}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(DEPLOYMENT, reports, alerts))
    console.print(f"{len(alerts)} alert(s); the report is {out}", markup=False)
    return LoopOutcome(out, rows, failed)


def _send(client: Any, flights: Any, batch: int, labels: list[dict[str, Any]]) -> int:
    """``flights`` to the server, ``batch`` per request; each answered row's label is kept
    in ``labels`` for later. Returns how many requests failed."""
    failed = 0
    for start in range(0, len(flights), batch):
        sent = flights.iloc[start : start + batch]
        records = sent[FEATURES].astype(object).where(sent[FEATURES].notna(), None)
        answer = client.post(
            f"/v1/models/{DEPLOYMENT}/predict", json={"records": records.to_dict("records")}
        )
        if answer.status_code != 200:
            failed += 1
            continue
        request_id = answer.json()["request_id"]
        labels += [
            {"request_id": request_id, "row": i, "label": int(v)} for i, v in enumerate(sent[LABEL])
        ]
    return failed


def _round(
    controller: Controller,
    server: Any,
    records: ControlRecords,
    progress: Any,
    task: Any,
    month: str,
) -> list[str]:
    """A controller round on what the server has logged so far; the loop's moves in words."""
    server.log.flush()  # the month's requests so far are in the log, as a minute would make them
    before = records.loop_state(DEPLOYMENT)
    after = controller.loop_round().get(DEPLOYMENT)
    if after is None:  # the round raised; the controller logged why
        return []
    server.state.refresh()  # serve what the controller changed now, not at the next poll
    said = _said(before, after, controller.loops[DEPLOYMENT].rollout.steps)
    if said:
        progress.update(task, description=f"{month}: {said}")
        progress.console.print(f"  {month}: {said}", markup=False)
    return [said] if said else []


def _table(console: Console, months: list[dict[str, Any]]) -> None:
    view = Table(
        "month",
        "champion",
        "most drifted",
        "accuracy",
        "estimated",
        "alert fired",
        "loop",
        title=f"{DEPLOYMENT}: each month against unseen winter flights",
        title_justify="left",
    )
    for row in months:
        report = row["report"]
        if report is None:
            view.add_row(
                row["month"], f"v{row['champion']}", "-", "-", "-", "", "; ".join(row["moves"])
            )
            continue
        scores = report.data_drift["scores"]
        drifted = sorted(report.data_drift["drifted_columns"], key=lambda c: -(scores.get(c) or 0))
        estimated = (report.estimated or {}).get("accuracy", {}).get("value")
        view.add_row(
            row["month"],
            f"v{row['champion']}",
            ", ".join(drifted[:2]) + (f" +{len(drifted) - 2}" if len(drifted) > 2 else "") or "-",
            f"{report.realised['accuracy']:.3f}" if report.realised else "-",
            "-" if estimated is None else f"{estimated:.3f}",
            ", ".join(row["fired"]),
            "; ".join(row["moves"]),
        )
    console.print(view)
