"""The web UI's data at scale: `shipway server` vs `mlflow server`, on the same 100,000 runs.

Usage: bench/.venv/bin/python bench/ui.py [--runs N] [--steps N]

Both stores are SQLite, seeded with the same runs (20 metrics and 20 params each) written
straight into their tables, and one run whose metric has 100,000 steps. Each server runs
with one worker on loopback. What a page asks for is timed, warm (the median of 7):

- the runs page: shipway's `POST /runs/search` for a page of 50 with 7 chosen columns, and
  the columns list; MLflow's UI asks `runs/search` for 100 runs with every column;
- a filtered search: the page of runs that match `metrics.m0 > 0.9 and params.p1 = 'a'`;
- a sort by a metric: the page sorted by `metrics.m3` descending;
- a run page: the run, and the 100,000-step metric as a chart draws it (shipway's bucketed
  history of 320 points; MLflow's `get-history-bulk-interval` with 320 points, as its UI asks).

A call is timed up to 7 times; one slower than a minute is timed once after its warm-up, so a
peer that takes minutes per page is measured without waiting an hour.

It also times the first paint of shipway's runs page in headless Chromium (Debian's), from
navigation to the table's rows on screen. The MLflow figures are from the same machine and
the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from common import console, load, report, wait_until_up

BIN = Path(__file__).parent / ".venv" / "bin"
METRICS, PARAMS, PAGE_METRIC = 20, 20, "loss"
T0 = 1_780_000_000.0
FILTER = "metrics.m0 > 0.9 and params.p1 = 'a'"
SORT_LIMIT = 600.0  # seconds: MLflow's sort by a metric is cut off here (--sort-limit)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runs_of(count: int) -> Iterator[tuple[str, float, dict[str, str], dict[str, float]]]:
    """The same runs for both stores: an id, a start time, params and metrics."""
    rng = random.Random(0)
    for i in range(count):
        run_id = f"{rng.getrandbits(128):032x}"
        params = {"p0": str(i % 7), "p1": rng.choice("abcd")}
        params.update({f"p{k}": f"{rng.random():.4f}" for k in range(2, PARAMS)})
        metrics = {f"m{k}": rng.random() for k in range(METRICS)}
        yield run_id, T0 + i, params, metrics


def _chunks(rows: list[Any], size: int = 20_000) -> Iterator[list[Any]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def seed_shipway(home: Path, count: int, steps: int) -> str:
    """Runs written through shipway's own tables (as its store would write them)."""
    from shipway.config import Settings
    from shipway.store import open_stores
    from shipway.store import schema as t

    stores = open_stores(Settings.resolve({"home": home}, environ={}, cwd=home))
    experiment = stores.tracking.create_experiment("bench").experiment_id
    runs, params, metrics, latest = [], [], [], []
    for run_id, start, p, m in runs_of(count):
        runs.append(
            {
                "run_id": run_id,
                "experiment_id": experiment,
                "name": f"run-{run_id[:6]}",
                "status": "FINISHED",
                "start_time": start,
                "end_time": start + 1,
                "user": "bench",
                "parent_run_id": None,
                "artifact_uri": f"{home}/artifacts/{run_id}",
            }
        )
        params += [
            {"run_id": run_id, "key": k, "value": v, "value_num": _number(v)} for k, v in p.items()
        ]
        for k, v in m.items():
            row = {"run_id": run_id, "key": k, "value": v, "step": 0, "timestamp": start}
            metrics.append(row)
            latest.append(row)
    long_id = "f" * 32
    runs.append({**runs[-1], "run_id": long_id, "name": "long", "start_time": T0 - 1})
    history = [
        {"run_id": long_id, "key": PAGE_METRIC, "value": 1 / (1 + s), "step": s, "timestamp": T0}
        for s in range(steps)
    ]
    latest.append(history[-1])
    with stores.db.engine.begin() as conn:
        for table, rows in (
            (t.runs, runs),
            (t.params, params),
            (t.metrics, metrics + history),
            (t.latest_metrics, latest),
        ):
            for chunk in _chunks(rows):
                conn.execute(table.insert(), chunk)
    stores.close()
    return long_id


def seed_mlflow(path: Path, artifacts: Path, count: int, steps: int) -> tuple[str, str]:
    """The same runs in MLflow's tables (made by MLflow's own store first)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{path}", str(artifacts))
    experiment = store.create_experiment("bench")
    store.engine.dispose()
    runs, params, metrics, latest, tags = [], [], [], [], []
    for run_id, start, p, m in runs_of(count):
        ms = int(start * 1000)
        runs.append(
            (run_id, f"run-{run_id[:6]}", "UNKNOWN", "", "", "bench", "FINISHED", ms, ms + 1000,
             "", "active", f"{artifacts}/{run_id}", int(experiment))
        )  # fmt: skip
        params += [(k, v, run_id) for k, v in p.items()]
        metrics += [(k, v, ms, run_id, 0, 0) for k, v in m.items()]
        latest += [(k, v, ms, 0, 0, run_id) for k, v in m.items()]
        tags.append(("mlflow.runName", f"run-{run_id[:6]}", run_id))
    long_id = "f" * 32
    ms = int((T0 - 1) * 1000)
    runs.append((long_id, "long", *runs[-1][2:7], ms, ms + 1000, *runs[-1][9:]))
    tags.append(("mlflow.runName", "long", long_id))
    metrics += [(PAGE_METRIC, 1 / (1 + s), int(T0 * 1000), long_id, s, 0) for s in range(steps)]
    latest.append((PAGE_METRIC, 1 / steps, int(T0 * 1000), steps - 1, 0, long_id))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            runs,
        )
        conn.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?,?,?,?,?,?)",
            metrics,
        )
        conn.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?,?,?,?,?,?)",
            latest,
        )
        conn.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
    return str(experiment), long_id


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def timed(
    call: Callable[[], httpx.Response], times: int = 7, budget: float = 60.0
) -> tuple[float, Any]:
    """The median wall milliseconds of up to ``times`` calls after one to warm up, and an
    answer. A call slower than the budget is timed once more at most: a peer that takes
    minutes per page is measured, not waited on for an hour."""
    start = time.perf_counter()
    answer = call()
    answer.raise_for_status()
    spent = time.perf_counter() - start
    samples: list[float] = []
    while len(samples) < times and (not samples or spent < budget):
        start = time.perf_counter()
        answer = call()
        took = time.perf_counter() - start
        samples.append(took * 1e3)
        spent += took
        answer.raise_for_status()
    return statistics.median(samples), answer.json()


def shipway_pages(client: httpx.Client, long_id: str) -> dict[str, tuple[float, int]]:
    api = "/api/v1"
    columns = [
        "metrics.m0",
        "metrics.m1",
        "metrics.m2",
        "metrics.m3",
        "params.p0",
        "params.p1",
        "params.p2",
    ]
    page = {"experiments": ["bench"], "max_results": 51, "columns": columns}
    out: dict[str, tuple[float, int]] = {}

    def runs_page() -> httpx.Response:
        client.get(f"{api}/experiments/bench/columns").raise_for_status()
        return client.post(
            f"{api}/runs/search", json={**page, "order_by": ["attributes.start_time DESC"]}
        )

    ms, found = timed(runs_page)
    out["runs page"] = (ms, len(found))
    ms, found = timed(lambda: client.post(f"{api}/runs/search", json={**page, "filter": FILTER}))
    out["filtered search"] = (ms, len(found))
    ms, found = timed(
        lambda: client.post(f"{api}/runs/search", json={**page, "order_by": ["metrics.m3 DESC"]})
    )
    out["sort by a metric"] = (ms, len(found))

    def run_page() -> httpx.Response:
        client.get(f"{api}/runs/{long_id}").raise_for_status()
        return client.get(
            f"{api}/runs/{long_id}/metrics/{PAGE_METRIC}/sampled", params={"points": 320}
        )

    ms, found = timed(run_page)
    out["run page, 100,000-step metric"] = (ms, len(found))
    return out


def mlflow_pages(
    client: httpx.Client, experiment: str, long_id: str
) -> dict[str, tuple[float, int]]:
    api = "/ajax-api/2.0/mlflow"
    page = {"experiment_ids": [experiment], "max_results": 100}
    out: dict[str, tuple[float, int]] = {}

    def search(**extra: Any) -> httpx.Response:
        return client.post(f"{api}/runs/search", json={**page, **extra})

    def run_page() -> httpx.Response:
        client.get(f"{api}/runs/get", params={"run_id": long_id}).raise_for_status()
        return client.get(
            f"{api}/metrics/get-history-bulk-interval",
            params={"run_ids": long_id, "metric_key": PAGE_METRIC, "max_results": 320},
        )

    tasks = [
        ("runs page", lambda: search(order_by=["attributes.start_time DESC"]), "runs"),
        ("filtered search", lambda: search(filter=FILTER), "runs"),
        ("run page, 100,000-step metric", run_page, "metrics"),
    ]
    for task, call, field in tasks:
        ms, found = timed(call)
        out[task] = (ms, len(found.get(field, [])))
        console.print(f"mlflow   {task}: {ms:.1f} ms")
    # Last, and once: on a large store this one query runs for many minutes, and a single
    # worker answers nothing else meanwhile. A call cut off at the limit is reported as the
    # limit, a lower bound.
    start = time.perf_counter()
    try:
        found = search(order_by=["metrics.m3 DESC"]).json()
        out["sort by a metric"] = ((time.perf_counter() - start) * 1e3, len(found.get("runs", [])))
    except httpx.TimeoutException:
        out["sort by a metric"] = (SORT_LIMIT * 1e3, 0)
    console.print(f"mlflow   sort by a metric: {out['sort by a metric'][0]:.1f} ms")
    return out


def first_paint(url: str) -> float:
    """Milliseconds from navigation to the runs table's rows on screen, in Chromium (best of 3)."""
    from playwright.sync_api import sync_playwright

    browser_path = os.environ.get("SHIPWAY_TEST_CHROMIUM") or shutil.which("chromium")
    best = float("inf")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        for _ in range(3):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(f"{url}/#/runs?experiment=bench")
            page.wait_for_selector("[data-testid=runs-table] tbody tr")
            best = min(best, (time.perf_counter() - start) * 1e3)
            page.close()
        browser.close()
    return best


def serve(
    name: str, command: list[str], health: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    # no pipe: a server that logs every request would block once a pipe nobody reads fills
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until_up(name, process, health, seconds=180, poll=0.05)
    return process


def main() -> None:
    global SORT_LIMIT  # one cut-off for the call and the report
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--sort-limit", type=float, default=SORT_LIMIT, help="seconds")
    args = parser.parse_args()
    SORT_LIMIT = args.sort_limit
    console.print(f"load average at start: {load()}")
    home = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    with console.status(f"seeding shipway's store with {args.runs:,} runs"):
        started = time.perf_counter()
        long_id = seed_shipway(home / "shipway", args.runs, args.steps)
        console.print(f"shipway's store seeded in {time.perf_counter() - started:.0f} s")
    with console.status(f"seeding MLflow's store with {args.runs:,} runs"):
        started = time.perf_counter()
        experiment, _ = seed_mlflow(home / "mlflow.db", home / "mlartifacts", args.runs, args.steps)
        console.print(f"MLflow's store seeded in {time.perf_counter() - started:.0f} s")

    port = free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(home / "shipway")}
    ours = serve(
        "shipway",
        [str(BIN / "shipway"), "server", "--port", str(port), "--monitor-every", "0"],
        f"http://127.0.0.1:{port}/health/ready",
        env,
    )
    try:
        with (
            console.status("shipway's pages"),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as c,
        ):
            ship = shipway_pages(c, long_id)
        with console.status("first paint in Chromium"):
            paint = first_paint(f"http://127.0.0.1:{port}")
    finally:
        ours.terminate()
        ours.wait(timeout=60)
    for task, (ms, found) in ship.items():
        console.print(f"shipway  {task}: {ms:.1f} ms ({found} rows or points)")
    console.print(f"shipway  first paint: {paint:.0f} ms")
    port = free_port()
    command = [
        str(BIN / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{home / 'mlflow.db'}",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--default-artifact-root", str(home / "mlartifacts"),
    ]  # fmt: skip
    theirs = serve("mlflow", command, f"http://127.0.0.1:{port}/health", dict(os.environ))
    try:
        with (
            console.status("MLflow's calls"),
            httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=SORT_LIMIT) as c,
        ):
            peer = mlflow_pages(c, experiment, long_id)
    finally:
        theirs.terminate()
        theirs.wait(timeout=60)
    console.print(f"load average at end: {load()}")
    rows = []
    for task, (ms, found) in ship.items():
        peer_ms, peer_found = peer[task]
        cut = peer_found == 0 and peer_ms >= SORT_LIMIT * 1e3
        shown = f"MLflow cut off at {SORT_LIMIT:.0f} s: a lower bound" if cut else f"{peer_found}"
        rows.append(
            {
                "task": f"{task} ({found} vs {shown} rows or points)",
                "unit": "ms",
                "shipway": ms,
                "peer": peer_ms,
                "target": "< 300 ms, ≥ 5× faster",
                "met": ms < 300 and peer_ms >= 5 * ms,
            }
        )
    rows.append(
        {
            "task": "first paint of the runs page in Chromium, rows on screen",
            "unit": "ms",
            "shipway": paint,
            "peer": None,
            "target": "< 1 s",
            "met": paint < 1000,
        }
    )
    report(
        f"the UI's calls on {args.runs:,} runs × {METRICS} metrics × {PARAMS} params: "
        "shipway server vs mlflow server 3.17.2 (SQLite, one worker, loopback)",
        rows,
        "ui",
    )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
