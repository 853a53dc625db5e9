"""A training loop logging through each tool's Python client to its own server, on loopback.

Usage: bench/.venv/bin/python bench/client.py [--quick]
Each client runs in a fresh process and logs N metrics one call at a time, as a training
loop does, then ends the run. Measured: wall time and client CPU per call inside the loop,
and the time from the first call until the run has ended with every value on the server.
The server's count of values is checked for each. MLflow runs twice: with its default
synchronous calls, and with ``synchronous=False`` (its background logging).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import httpx
from common import console, load, report
from server import BIN, Server, free_port

LOOP = """
import json, sys, time
N, url, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if kind == "shipway":
    import shipway as sw
    sw.configure(tracking_uri=url)
    start, log, end = (lambda: sw.start_run(experiment="bench", name="loop")), sw.log_metric, None
else:
    import mlflow
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench")
    start = mlflow.start_run
    sync = kind == "mlflow"
    log = lambda k, v, step: mlflow.log_metric(k, v, step=step, synchronous=sync)
run = start().__enter__()
run_id = getattr(run, "run_id", None) or run.info.run_id
wall, cpu = time.perf_counter(), time.process_time()
for i in range(N):
    log("loss", i * 0.001, step=i)
loop_wall, loop_cpu = time.perf_counter() - wall, time.process_time() - cpu
run.__exit__(None, None, None)
print(json.dumps({"run_id": run_id, "loop_wall": loop_wall, "loop_cpu": loop_cpu,
                  "durable": time.perf_counter() - wall}))
"""


def run_loop(kind: str, url: str, n: int, home: Path) -> dict[str, float]:
    env = {**os.environ, "SHIPWAY_HOME": str(home / f"client-{kind}")}
    out = subprocess.run(
        [str(BIN / "python"), "-c", LOOP, str(n), url, kind],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 300 if args.quick else 3_000
    console.print(f"load average at start: {load()}")
    home = Path(tempfile.mkdtemp(prefix="bench-client-"))
    results = {}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    ours = Server(
        "shipway",
        [str(BIN / "shipway"), "server", "--port", str(port)],
        f"{url}/health/ready",
        {**os.environ, "SHIPWAY_HOME": str(home / "shipway")},
    )
    try:
        with console.status("shipway client → shipway server"):
            results["shipway"] = run_loop("shipway", url, n, home)
        run_id = results["shipway"]["run_id"]
        got = httpx.get(f"{url}/api/v1/runs/{run_id}/metrics/loss").json()
        results["shipway"]["stored"] = len(got)
    finally:
        ours.stop()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--default-artifact-root",
        str(home / "mlartifacts"),
    ]
    theirs = Server("mlflow", command, f"{url}/health", dict(os.environ))
    try:
        for kind in ("mlflow", "mlflow-async"):
            with console.status(f"{kind} client → mlflow server"):
                results[kind] = run_loop(kind, url, n, home)
            history = httpx.get(
                f"{url}/api/2.0/mlflow/metrics/get-history",
                params={
                    "run_id": results[kind]["run_id"],
                    "metric_key": "loss",
                    "max_results": 100_000,
                },
            ).json()
            results[kind]["stored"] = len(history.get("metrics", []))
    finally:
        theirs.stop()
    console.print(f"load average at end: {load()}")
    for kind, r in results.items():
        assert r["stored"] == n, f"{kind}: the server holds {r['stored']} of {n} values"
    s = results["shipway"]
    rows = []
    for peer in ("mlflow", "mlflow-async"):
        m = results[peer]
        label = (
            "MLflow (synchronous, its default)" if peer == "mlflow" else "MLflow synchronous=False"
        )
        rows += [
            {
                "task": f"vs {label}: wall per log_metric call in the loop",
                "unit": "ms",
                "shipway": s["loop_wall"] / n * 1e3,
                "peer": m["loop_wall"] / n * 1e3,
            },
            {
                "task": f"vs {label}: client CPU per call in the loop",
                "unit": "ms",
                "shipway": s["loop_cpu"] / n * 1e3,
                "peer": m["loop_cpu"] / n * 1e3,
            },
            {
                "task": f"vs {label}: first call to run ended, {n:,} values stored",
                "unit": "s",
                "shipway": s["durable"],
                "peer": m["durable"],
            },
        ]
    report(
        f"{n:,} log_metric calls through each Python client to its own server (loopback)",
        rows,
        "client",
    )


if __name__ == "__main__":
    main()
