"""shipway vs MLflow tracking, both on SQLite, side by side in one run.

Usage: python bench/tracking.py [--quick] [--only TASK]
Figures are CPU seconds of the benchmark process (all threads, so shipway's background
metric writer is counted), which a shared 2-core machine disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

from common import console, cpu_and_wall, in_subprocess, load, repeat, report
from rich.progress import Progress

FILTER = "metrics.acc > 0.5 and params.model = 'x'"


def shipway_home() -> Any:
    import shipway as sw

    home = Path(tempfile.mkdtemp(prefix="bench-shipway-"))
    sw.configure(home=home, user="bench")
    return sw, home


def mlflow_store() -> tuple[Any, Any, str]:
    os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    import mlflow
    from mlflow.tracking import MlflowClient

    folder = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return mlflow, MlflowClient(uri), str(folder / "mlflow.db")


def per_call(n: int, n_mlflow: int) -> dict[str, Any]:
    sw, _ = shipway_home()

    def ours() -> None:
        with sw.start_run(experiment="per-call"):
            for i in range(n):
                sw.log_metric("loss", i * 0.001, step=i)
            sw.flush()

    mlflow, _, _ = mlflow_store()
    mlflow.set_experiment("per-call")

    def theirs() -> None:
        with mlflow.start_run():
            for i in range(n_mlflow):
                mlflow.log_metric("loss", i * 0.001, step=i)

    ours_cpu = cpu_and_wall(ours)[0] / n * 1e3
    theirs_cpu = cpu_and_wall(theirs)[0] / n_mlflow * 1e3
    return {
        "task": f"log_metric per call ({n:,} calls)",
        "unit": "ms",
        "shipway": ours_cpu,
        "peer": theirs_cpu,
        "target": "≥ 50× cheaper",
        "met": theirs_cpu / ours_cpu >= 50,
    }


def log_batch(n: int) -> dict[str, Any]:
    sw, _ = shipway_home()
    from shipway.session import current
    from shipway.types import Metric

    client = current().tracking
    run = client.create_run("batch", capture_environment=False)
    values = [Metric("loss", i * 0.001, i, time.time()) for i in range(n)]
    ours = cpu_and_wall(lambda: client.log_batch(run.run_id, values))[0]
    from mlflow.entities import Metric as MlflowMetric

    _, mlclient, _ = mlflow_store()
    experiment = mlclient.create_experiment("batch")
    ml_run = mlclient.create_run(experiment)
    theirs_values = [MlflowMetric("loss", i * 0.001, int(time.time() * 1000), i) for i in range(n)]
    theirs = cpu_and_wall(lambda: mlclient.log_batch(ml_run.info.run_id, metrics=theirs_values))[0]
    return {"task": f"log_batch of {n:,} values", "unit": "s", "shipway": ours, "peer": theirs}


def create_runs(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    sw, _ = shipway_home()
    rng = random.Random(0)
    specs = [
        (
            {
                "model": rng.choice("xyz"),
                "lr": rng.random(),
                "depth": rng.randint(1, 9),
                "seed": i,
                "opt": "adam",
            },
            {
                "acc": rng.random(),
                "loss": rng.random(),
                "f1": rng.random(),
                "auc": rng.random(),
                "rmse": rng.random(),
            },
        )
        for i in range(n)
    ]

    def ours() -> None:
        for params, metrics in specs:
            with sw.start_run(experiment="many", params=params):
                sw.log_metrics(metrics)

    from mlflow.entities import Metric as MlflowMetric
    from mlflow.entities import Param

    _, mlclient, _ = mlflow_store()
    experiment = mlclient.create_experiment("many")

    def theirs() -> None:
        for params, metrics in specs:
            run = mlclient.create_run(experiment)
            now = int(time.time() * 1000)
            mlclient.log_batch(
                run.info.run_id,
                metrics=[MlflowMetric(k, v, now, 0) for k, v in metrics.items()],
                params=[Param(k, str(v)) for k, v in params.items()],
            )
            mlclient.set_terminated(run.info.run_id)

    ours_cpu = cpu_and_wall(ours)[0]
    theirs_cpu = cpu_and_wall(theirs)[0]
    create = {
        "task": f"create {n:,} runs (5 params, 5 metrics)",
        "unit": "s",
        "shipway": ours_cpu,
        "peer": theirs_cpu,
    }
    import mlflow

    ours_best, ours_median, ours_rows = repeat(lambda: len(sw.search_runs("many", filter=FILTER)))
    theirs_best, theirs_median, theirs_rows = repeat(
        lambda: len(mlflow.search_runs(experiment_ids=[experiment], filter_string=FILTER))
    )
    search = {
        "task": f"filtered search over {n:,} runs → DataFrame (best of 5; rows {ours_rows} vs {theirs_rows})",
        "unit": "s",
        "shipway": ours_best,
        "peer": theirs_best,
        "shipway_median": ours_median,
        "peer_median": theirs_median,
        "same_rows": ours_rows == theirs_rows,
    }
    return create, search


def _template_rows(db: str, run_id: str) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    templates = {}
    for table, column in (
        ("runs", "run_uuid"),
        ("params", "run_uuid"),
        ("metrics", "run_uuid"),
        ("latest_metrics", "run_uuid"),
        ("tags", "run_uuid"),
    ):
        row = conn.execute(
            f"SELECT * FROM {table} WHERE {column} = ? LIMIT 1", (run_id,)
        ).fetchone()
        if row is not None:
            templates[table] = dict(row)
    conn.close()
    return templates


def big_search(n: int) -> dict[str, Any]:
    """Seed n runs into both stores with bulk SQL (ingest is not what is measured), then search."""
    rng = random.Random(1)
    runs = [
        (uuid.uuid4().hex, rng.choice("xyz"), [rng.random() for _ in range(5)]) for _ in range(n)
    ]
    sw, home = shipway_home()
    experiment = sw.create_experiment("big").experiment_id
    conn = sqlite3.connect(home / "shipway.db")
    now = time.time()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding shipway", total=n)
        for start in range(0, n, 10_000):
            chunk = runs[start : start + 10_000]
            conn.executemany(
                "INSERT INTO runs VALUES (?, ?, ?, 'FINISHED', ?, ?, 'bench', NULL, 'x')",
                [
                    (r, experiment, f"run-{r[:8]}", now + i, now + i)
                    for i, (r, _, _) in enumerate(chunk, start)
                ],
            )
            conn.executemany(
                "INSERT INTO params VALUES (?, ?, ?, ?)",
                [
                    (r, k, v, n_)
                    for r, model, m in chunk
                    for k, v, n_ in (
                        ("model", model, None),
                        ("lr", str(m[0]), m[0]),
                        ("depth", "3", 3.0),
                        ("seed", "1", 1.0),
                        ("opt", "adam", None),
                    )
                ],
            )
            metric_rows = [
                (r, k, v, 0, now)
                for r, _, m in chunk
                for k, v in zip(("acc", "loss", "f1", "auc", "rmse"), m, strict=True)
            ]
            conn.executemany("INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?)", metric_rows)
            conn.executemany(
                "INSERT INTO metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)",
                metric_rows,
            )
            conn.commit()
            progress.advance(task, len(chunk))
    conn.close()
    mlflow, mlclient, db = mlflow_store()
    ml_experiment = mlclient.create_experiment("big")
    template_run = mlclient.create_run(ml_experiment)
    from mlflow.entities import Metric as MlflowMetric
    from mlflow.entities import Param

    mlclient.log_batch(
        template_run.info.run_id,
        metrics=[MlflowMetric("acc", 0.1, 1, 0)],
        params=[Param("model", "q")],
    )
    templates = _template_rows(db, template_run.info.run_id)
    conn = sqlite3.connect(db)

    def rows_for(table: str, values: list[dict[str, Any]]) -> None:
        template = templates[table]
        columns = list(template)
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [tuple({**template, **v}[c] for c in columns) for v in values],
        )

    stamp = int(now * 1000)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding mlflow", total=n)
        for start in range(0, n, 10_000):
            chunk = runs[start : start + 10_000]
            rows_for(
                "runs",
                [
                    {
                        "run_uuid": r,
                        "name": f"run-{r[:8]}",
                        "status": "FINISHED",
                        "start_time": stamp + i,
                        "end_time": stamp + i,
                        "artifact_uri": f"x/{r}",
                    }
                    for i, (r, _, _) in enumerate(chunk, start)
                ],
            )
            rows_for(
                "params",
                [
                    {"run_uuid": r, "key": k, "value": v}
                    for r, model, m in chunk
                    for k, v in (
                        ("model", model),
                        ("lr", str(m[0])),
                        ("depth", "3"),
                        ("seed", "1"),
                        ("opt", "adam"),
                    )
                ],
            )
            metric_values = [
                {"run_uuid": r, "key": k, "value": v, "timestamp": stamp, "step": 0}
                for r, _, m in chunk
                for k, v in zip(("acc", "loss", "f1", "auc", "rmse"), m, strict=True)
            ]
            rows_for("latest_metrics", metric_values)
            rows_for("metrics", metric_values)
            conn.commit()
            progress.advance(task, len(chunk))
    conn.close()
    expected = sum(1 for _, model, m in runs if model == "x" and m[0] > 0.5)
    ours_best, ours_median, ours_rows = repeat(lambda: len(sw.search_runs("big", filter=FILTER)))
    theirs_best, theirs_median, theirs_rows = repeat(
        lambda: len(
            mlflow.search_runs(
                experiment_ids=[ml_experiment], filter_string=FILTER, max_results=1000
            )
        )
    )
    return {
        "task": f"filtered search over {n:,} runs, first 1,000 of {expected:,} matches (best of 5; rows {ours_rows} vs {theirs_rows})",
        "unit": "s",
        "shipway": ours_best,
        "peer": theirs_best,
        "shipway_median": ours_median,
        "peer_median": theirs_median,
        "target": "< 0.2 s",
        "met": ours_best < 0.2,
    }


def new_store() -> dict[str, Any]:
    ours = in_subprocess(
        "import tempfile, time; from shipway.config import Settings; from shipway.store import open_stores;"
        "d = tempfile.mkdtemp(); t = time.perf_counter(); open_stores(Settings.resolve({'home': d}, environ={}));"
        "print(time.perf_counter() - t)"
    )
    theirs = in_subprocess(
        "import tempfile, time, logging; logging.disable(logging.WARNING); from mlflow.tracking import MlflowClient;"
        "d = tempfile.mkdtemp(); t = time.perf_counter(); MlflowClient(tracking_uri=f'sqlite:///{d}/m.db').search_experiments();"
        "print(time.perf_counter() - t)"
    )
    return {
        "task": "new store ready (wall, in a fresh process)",
        "unit": "s",
        "shipway": ours,
        "peer": theirs,
        "target": "< 0.5 s",
        "met": ours < 0.5,
    }


def import_time() -> dict[str, Any]:
    ours = in_subprocess(
        "import time; t = time.perf_counter(); import shipway; print(time.perf_counter() - t)"
    )
    theirs = in_subprocess(
        "import time; t = time.perf_counter(); import mlflow; print(time.perf_counter() - t)"
    )
    return {
        "task": "import (wall, best of 5)",
        "unit": "s",
        "shipway": ours,
        "peer": theirs,
        "target": "< 0.3 s",
        "met": ours < 0.3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    parser.add_argument(
        "--only", choices=["per_call", "batch", "runs", "big_search", "store", "import"]
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    q = args.quick
    console.print(f"load average at start: {load()}")
    tasks = {
        "import": lambda: [import_time()],
        "store": lambda: [new_store()],
        "per_call": lambda: [per_call(1_000 if q else 10_000, 200 if q else 10_000)],
        "batch": lambda: [log_batch(10_000)],
        "runs": lambda: list(create_runs(200 if q else 2_000)),
        "big_search": lambda: [big_search(10_000 if q else 100_000)],
    }
    rows: list[dict[str, Any]] = []
    for name, task in tasks.items():
        if args.only in (None, name):
            with console.status(f"running {name}…"):
                rows.extend(task())
    console.print(f"load average at end: {load()}")
    report("shipway vs MLflow 3.17.2, tracking on SQLite (CPU unless noted)", rows, "tracking")
    if any(r.get("met") is False for r in rows):
        console.print("[red]some targets were missed[/]")
    _ = statistics  # noqa: F841 - kept for medians in the JSON


if __name__ == "__main__":
    main()
