"""The demo's second half: the promoted model in production, and monitoring catching summer.

The model, trained on January and February, is deployed and served by a real model server
on loopback. The flights of March to August go through it, their late/on-time labels
arrive afterwards, and the monitors judge each month against the training data: weather
drift from the spring, and the summer's storms costing accuracy, with alerts and a report.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from shipway.demo.data import FEATURES, LABEL, load_flights

DEPLOYMENT = "flight-delay-live"
MONTHS = ["March", "April", "May", "June", "July", "August"]
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
        import time

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


def run_loop(
    model: str, version: int, console: Console, *, reference: Any, quick: bool = False
) -> Path:
    """Deploy, serve, replay six months, label them, monitor; returns the report's path.

    ``reference`` is labelled winter flights the model never saw: scores on training rows are
    over-confident, so held-out rows calibrate the estimate without labels honestly."""
    import time

    import httpx

    import shipway as sw
    from shipway.monitoring.report_html import render
    from shipway.serving.server import open_model_server
    from shipway.session import current

    per_month = 400 if quick else 1500
    started = time.time()  # a demo run again judges only its own traffic, with no alert open
    for alert in sw.alerts(deployment=DEPLOYMENT):
        current().alerts.resolve(alert.alert_id)
    sw.deploy(DEPLOYMENT, model=model, version=version, reason="the demo's production model")
    settings = current().settings
    server = open_model_server(settings, [DEPLOYMENT])
    labels: list[dict[str, Any]] = []
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
            task = progress.add_task(f"serving March–August through {url}", total=len(MONTHS))
            for month in range(3, 9):
                flights = load_flights([month]).sample(per_month, random_state=month)
                for start in range(0, per_month, BATCH):
                    part = flights.iloc[start : start + BATCH]
                    records = part[FEATURES].astype(object).where(part[FEATURES].notna(), None)
                    answer = client.post(
                        f"/v1/models/{DEPLOYMENT}/predict",
                        json={"records": records.to_dict("records")},
                    )
                    answer.raise_for_status()
                    request_id = answer.json()["request_id"]
                    labels += [
                        {"request_id": request_id, "row": i, "label": int(v)}
                        for i, v in enumerate(part[LABEL])
                    ]
                progress.advance(task)
    finally:
        server.session.close()
    sw.log_ground_truth(DEPLOYMENT, labels)  # the flights have landed: late labels
    rules = [
        sw.AlertRule(
            "weather drift", "data_drift.share_drifted", ">=", 0.3, min_rows=per_month // 2
        ),
        sw.AlertRule(
            "accuracy drop",
            "realised.accuracy",
            "<",
            0.72,
            min_rows=per_month // 2,
            severity="critical",
        ),
    ]
    with console.status("monitoring each month against the training data"):
        reports = sw.monitor(
            DEPLOYMENT,
            window=per_month,
            label=LABEL,
            rules=rules,
            replay=True,
            reference=reference[[*FEATURES, LABEL]],
            start=started,
        )
    alerts = [
        a for a in sw.alerts(deployment=DEPLOYMENT, include_resolved=True) if a.opened_at >= started
    ]
    fired: dict[str, list[str]] = {}
    for alert in alerts:  # by the window each alert fired in
        fired.setdefault(alert.evidence["window"], []).append(alert.rule)
    view = Table(
        "month",
        "most drifted",
        "accuracy",
        "estimated",
        "alert fired",
        title=f"{DEPLOYMENT}: each month against unseen winter flights",
        title_justify="left",
    )
    for name, report in zip(MONTHS, reports, strict=False):
        scores = report.data_drift["scores"]
        drifted = sorted(report.data_drift["drifted_columns"], key=lambda c: -(scores.get(c) or 0))
        estimated = (report.estimated or {}).get("accuracy", {}).get("value")
        view.add_row(
            name,
            ", ".join(drifted[:2]) + (f" +{len(drifted) - 2}" if len(drifted) > 2 else "") or "-",
            f"{report.realised['accuracy']:.3f}" if report.realised else "-",
            "-" if estimated is None else f"{estimated:.3f}",
            ", ".join(fired.get(report.window, [])),
        )
    console.print(view)
    console.print(
        "The estimate needs no labels, but it cannot see that summer storms change what "
        "delays a flight (concept drift). The late labels can."
    )
    out = Path(settings.home) / "reports" / f"{DEPLOYMENT}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(DEPLOYMENT, reports, alerts))
    console.print(f"{len(alerts)} alert(s); the report is {out}", markup=False)
    return out
