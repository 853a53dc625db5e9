"""`shipway server` vs `mlflow server`, both on SQLite with one worker, on loopback.

Usage: bench/.venv/bin/python bench/server.py [--quick]
Measures start-up to a healthy answer, log_batch throughput, per-call metric logging
latency and server CPU, a filtered search over 2,000 runs, and the CPU an idle server burns.
Server CPU is read from /proc for the server's whole process tree.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import console, load, report, wait_until_up

BIN = Path(__file__).parent / ".venv" / "bin"
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            stack.extend(int(c) for c in children)
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


class Server:
    def __init__(self, name: str, command: list[str], health: str, env: dict[str, str]) -> None:
        self.name, self.health = name, health
        start = time.perf_counter()
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_until_up(name, self.process, health, seconds=120, poll=0.02)
        self.startup = time.perf_counter() - start

    def cpu(self) -> float:
        return tree_cpu(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def shipway_calls(base: str) -> dict[str, Any]:
    api = f"{base}/api/v1"
    return {
        "create_run": lambda c, exp, params: c.post(
            f"{api}/runs", json={"experiment": exp, "params": params}
        ).json()["run_id"],
        "batch": lambda c, run, metrics: c.post(
            f"{api}/runs/{run}/log-batch", json={"metrics": metrics}
        ),
        "one": lambda c, run, m: c.post(f"{api}/runs/{run}/log-batch", json={"metrics": [m]}),
        "end": lambda c, run: c.post(f"{api}/runs/{run}/end", json={"status": "FINISHED"}),
        "search": lambda c, exp, flt: len(
            c.post(
                f"{api}/runs/search",
                json={"experiments": [exp], "filter": flt, "max_results": 5000},
            ).json()
        ),
        "experiment": lambda c, name: c.post(f"{api}/experiments", json={"name": name}).json()[
            "name"
        ],
    }


def mlflow_calls(base: str) -> dict[str, Any]:
    api = f"{base}/api/2.0/mlflow"
    now = lambda: int(time.time() * 1000)  # noqa: E731

    def create_run(c: httpx.Client, exp: str, params: dict[str, Any]) -> str:
        run = c.post(f"{api}/runs/create", json={"experiment_id": exp, "start_time": now()}).json()[
            "run"
        ]["info"]["run_id"]
        c.post(
            f"{api}/runs/log-batch",
            json={
                "run_id": run,
                "params": [{"key": k, "value": str(v)} for k, v in params.items()],
            },
        )
        return run

    def search(c: httpx.Client, exp: str, flt: str) -> int:
        found, token = 0, None
        while True:
            body = {
                "experiment_ids": [exp],
                "filter": flt,
                "max_results": 1000,
                **({"page_token": token} if token else {}),
            }
            page = c.post(f"{api}/runs/search", json=body).json()
            found += len(page.get("runs", []))
            token = page.get("next_page_token")
            if not token:
                return found

    return {
        "create_run": create_run,
        "batch": lambda c, run, metrics: c.post(
            f"{api}/runs/log-batch",
            json={"run_id": run, "metrics": [{**m, "timestamp": now()} for m in metrics]},
        ),
        "one": lambda c, run, m: c.post(
            f"{api}/runs/log-metric", json={"run_id": run, **m, "timestamp": now()}
        ),
        "end": lambda c, run: c.post(
            f"{api}/runs/update", json={"run_id": run, "status": "FINISHED", "end_time": now()}
        ),
        "search": search,
        "experiment": lambda c, name: c.post(
            f"{api}/experiments/create", json={"name": name}
        ).json()["experiment_id"],
    }


def measure(
    server: Server, calls: dict[str, Any], runs: int, singles: int, idle_seconds: float
) -> dict[str, float]:
    out: dict[str, float] = {"startup": server.startup}
    with httpx.Client(timeout=60) as c:
        exp = calls["experiment"](c, "bench")
        run = calls["create_run"](c, exp, {})
        batches = [
            [{"key": "loss", "value": random.random(), "step": b * 1000 + i} for i in range(1000)]
            for b in range(10)
        ]
        cpu, start = server.cpu(), time.perf_counter()
        for batch in batches:
            assert calls["batch"](c, run, batch).status_code in (200, 204)
        out["batch_values_per_s"] = 10_000 / (time.perf_counter() - start)
        out["batch_server_cpu_ms_per_value"] = (server.cpu() - cpu) / 10_000 * 1e3
        cpu, start = server.cpu(), time.perf_counter()
        for i in range(singles):
            assert calls["one"](
                c, run, {"key": "one", "value": float(i), "step": i}
            ).status_code in (200, 204)
        out["one_latency_ms"] = (time.perf_counter() - start) / singles * 1e3
        out["one_server_cpu_ms"] = (server.cpu() - cpu) / singles * 1e3
        rng = random.Random(0)
        for _ in range(runs):
            r = calls["create_run"](c, exp, {"model": rng.choice("xyz")})
            calls["batch"](c, r, [{"key": "acc", "value": rng.random(), "step": 0}])
            calls["end"](c, r)
        flt = "metrics.acc > 0.5 and params.model = 'x'"
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            out["search_rows"] = calls["search"](c, exp, flt)
            timings.append(time.perf_counter() - start)
        out["search_s"] = min(timings)
    time.sleep(1)  # let the last requests' work settle before the idle window
    cpu = server.cpu()
    time.sleep(idle_seconds)  # measuring idleness needs a stretch of wall time
    out["idle_cpu_s"] = server.cpu() - cpu
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    runs, singles, idle = (200, 100, 5.0) if args.quick else (2_000, 500, 20.0)
    console.print(f"load average at start: {load()}")
    home = Path(tempfile.mkdtemp(prefix="bench-server-"))
    results = {}
    port = free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(home / "shipway")}
    ours = Server(
        "shipway",
        [str(BIN / "shipway"), "server", "--port", str(port)],
        f"http://127.0.0.1:{port}/health/ready",
        env,
    )
    try:
        with console.status("shipway server"):
            results["shipway"] = measure(
                ours, shipway_calls(f"http://127.0.0.1:{port}"), runs, singles, idle
            )
    finally:
        ours.stop()
    port = free_port()
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
    theirs = Server("mlflow", command, f"http://127.0.0.1:{port}/health", dict(os.environ))
    try:
        with console.status("mlflow server"):
            results["mlflow"] = measure(
                theirs, mlflow_calls(f"http://127.0.0.1:{port}"), runs, singles, idle
            )
    finally:
        theirs.stop()
    console.print(f"load average at end: {load()}")
    s, m = results["shipway"], results["mlflow"]
    rows = [
        {
            "task": "start-up to a healthy answer (wall)",
            "unit": "s",
            "shipway": s["startup"],
            "peer": m["startup"],
            "target": "< 2 s",
            "met": s["startup"] < 2,
        },
        {
            "task": "log_batch throughput, 10 × 1,000 values (values/s; peer/shipway < 1 is better)",
            "unit": "/s",
            "shipway": s["batch_values_per_s"],
            "peer": m["batch_values_per_s"],
            "target": "≥ 5× MLflow",
            "met": s["batch_values_per_s"] >= 5 * m["batch_values_per_s"],
        },
        {
            "task": "log_batch server CPU per value",
            "unit": "ms",
            "shipway": s["batch_server_cpu_ms_per_value"],
            "peer": m["batch_server_cpu_ms_per_value"],
        },
        {
            "task": f"one metric per request, {singles} calls: latency",
            "unit": "ms",
            "shipway": s["one_latency_ms"],
            "peer": m["one_latency_ms"],
        },
        {
            "task": "one metric per request: server CPU",
            "unit": "ms",
            "shipway": s["one_server_cpu_ms"],
            "peer": m["one_server_cpu_ms"],
        },
        {
            "task": f"filtered search over {runs:,} runs (rows {int(s['search_rows'])} vs {int(m['search_rows'])})",
            "unit": "s",
            "shipway": s["search_s"],
            "peer": m["search_s"],
        },
        {
            "task": f"idle server CPU over {idle:.0f} s",
            "unit": "s",
            "shipway": s["idle_cpu_s"],
            "peer": m["idle_cpu_s"],
            "target": "no measurable CPU",
            "met": s["idle_cpu_s"] <= 0.02,
        },
    ]
    report("shipway server vs mlflow server 3.17.2 (SQLite, one worker, loopback)", rows, "server")


if __name__ == "__main__":
    main()
