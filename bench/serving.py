"""Model servers side by side: shipway serve, mlflow models serve, BentoML, and a bare
Starlette app that only calls predict (the floor). Same model, same load client, loopback.

Usage: bench/.venv/bin/python bench/serving.py [--quick] [--requests N]
The model is a scikit-learn pipeline (StandardScaler + LogisticRegression) on 20 features.
Each server runs one worker pinned to CPU 0; the load client (aiohttp, asyncio, in its own
process) is pinned to CPU 1, so it is not the bottleneck. Each cell sends warm-up requests,
then N one-row requests in a closed loop at concurrency 1 and 16. Server CPU per request
is read from /proc for the server's process tree. BentoML runs from bench/.venv-bentoml
(its pins clash with MLflow's) when that environment exists.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from common import console, load, wait_until_up
from rich.table import Table
from server import BIN, free_port, tree_cpu

HERE = Path(__file__).parent
BENTO_BIN = HERE / ".venv-bentoml" / "bin"
FEATURES = [f"f{i}" for i in range(20)]

LOAD = textwrap.dedent("""
    import asyncio, json, sys, time
    import aiohttp
    url, body, n, warm, concurrency = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    async def main():
        latencies, errors = [], 0
        headers = {"content-type": "application/json"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
            async def one(record):
                nonlocal errors
                start = time.perf_counter()
                async with s.post(url, data=body, headers=headers) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                if record:
                    latencies.append(time.perf_counter() - start)
            async def worker(count, record):
                for _ in range(count):
                    await one(record)
            await asyncio.gather(*(worker(warm // concurrency, False) for _ in range(concurrency)))
            print("warm", flush=True)
            sys.stdin.readline()
            start = time.perf_counter()
            await asyncio.gather(*(worker(n // concurrency, True) for _ in range(concurrency)))
            wall = time.perf_counter() - start
        latencies.sort()
        print(json.dumps({"wall": wall, "n": len(latencies), "errors": errors,
                          "p50": latencies[len(latencies) // 2], "p99": latencies[int(len(latencies) * 0.99)]}))
    asyncio.run(main())
""")

FLOOR = textwrap.dedent("""
    import json, pickle, sys
    import pandas as pd
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    model = pickle.load(open(sys.argv[1], "rb"))
    async def predict(request: Request):
        body = json.loads(await request.body())
        return JSONResponse({"predictions": model.predict(pd.DataFrame(body["records"])).tolist()})
    async def ready(request: Request):
        return JSONResponse({"ready": True})
    app = Starlette(routes=[Route("/predict", predict, methods=["POST"]), Route("/ready", ready)])
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
""")

BENTO = textwrap.dedent("""
    import pickle, os
    import bentoml
    import pandas as pd
    MODEL = pickle.load(open(os.environ["BENCH_MODEL"], "rb"))
    @bentoml.service(workers=1)
    class Churn:
        @bentoml.api
        def predict(self, records: list[dict]) -> list[int]:
            return MODEL.predict(pd.DataFrame(records)).tolist()
""")


def train() -> tuple[Any, Any, dict[str, float]]:
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=2000, n_features=20, random_state=0)
    frame = pd.DataFrame(X, columns=FEATURES)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, y)
    return model, frame, {k: float(v) for k, v in frame.iloc[0].items()}


class Proc:
    def __init__(
        self, name: str, command: list[str], ready: str, env: dict[str, str], cwd: Path
    ) -> None:
        self.name = name
        self.process = subprocess.Popen(
            ["taskset", "-c", "0", *command],
            env=env,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_until_up(name, self.process, ready, seconds=180, poll=0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def drive(proc: Proc, url: str, body: str, n: int, concurrency: int) -> dict[str, float]:
    client = subprocess.Popen(
        [
            "taskset",
            "-c",
            "1",
            str(BIN / "python"),
            "-c",
            LOAD,
            url,
            body,
            str(n),
            str(max(300, concurrency * 20)),
            str(concurrency),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None and client.stdin is not None
    assert client.stdout.readline().strip() == "warm"
    cpu = tree_cpu(proc.process.pid)
    client.stdin.write("go\n")
    client.stdin.flush()
    result = json.loads(client.stdout.readline())
    client.wait()
    used = tree_cpu(proc.process.pid) - cpu
    return {
        "rps": result["n"] / result["wall"],
        "p50_ms": result["p50"] * 1e3,
        "p99_ms": result["p99"] * 1e3,
        "cpu_ms": used / result["n"] * 1e3,
        "errors": result["errors"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--requests", type=int, default=None)
    args = parser.parse_args()
    n = args.requests or (600 if args.quick else 3000)
    console.print(f"load average at start: {load()}")
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    model, frame, record = train()
    with (work / "model.pkl").open("wb") as f:
        pickle.dump(model, f)
    single = json.dumps({"records": [record]})
    env = {
        **os.environ,
        "SHIPWAY_HOME": str(work / "shipway"),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PATH": f"{BIN}:{os.environ['PATH']}",
    }  # mlflow models serve runs `uvicorn` from PATH
    os.environ.update({"SHIPWAY_HOME": env["SHIPWAY_HOME"]})
    import shipway as sw

    with sw.start_run(experiment="bench") as run:
        run.log_model(model, "model", input_example=frame.head())
    sw.register_model(run, "bench")
    sw.deploy("bench", model="bench", version=1)
    sw.deploy("batched", model="bench", version=1, max_batch=16, max_wait_ms=2)
    import mlflow.sklearn

    mlflow.sklearn.save_model(model, str(work / "mlflow-model"), input_example=frame.head())
    (work / "floor.py").write_text(FLOOR)
    (work / "service.py").write_text(BENTO)
    contenders: list[tuple[str, list[str], str, str, str]] = []

    def add(name: str, command: list[str], ready: str, path: str, body: str) -> None:
        contenders.append((name, command, ready, path, body))

    port = free_port()
    add(
        "bare Starlette (floor)",
        [str(BIN / "python"), str(work / "floor.py"), str(work / "model.pkl"), str(port)],
        f"http://127.0.0.1:{port}/ready",
        f"http://127.0.0.1:{port}/predict",
        single,
    )
    for label, extra in (("shipway serve", []), ("shipway serve --no-log", ["--no-log"])):
        port = free_port()
        add(
            label,
            [str(BIN / "shipway"), "serve", "bench", "--port", str(port), *extra],
            f"http://127.0.0.1:{port}/v2/health/ready",
            f"http://127.0.0.1:{port}/v1/models/bench/predict",
            single,
        )
    port = free_port()
    add(
        "shipway serve, batching ≤ 16",
        [str(BIN / "shipway"), "serve", "batched", "--port", str(port)],
        f"http://127.0.0.1:{port}/v2/health/ready",
        f"http://127.0.0.1:{port}/v1/models/batched/predict",
        single,
    )
    port = free_port()
    add(
        "mlflow models serve",
        [
            str(BIN / "mlflow"),
            "models",
            "serve",
            "-m",
            str(work / "mlflow-model"),
            "--env-manager",
            "local",
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-w",
            "1",
        ],
        f"http://127.0.0.1:{port}/ping",
        f"http://127.0.0.1:{port}/invocations",
        json.dumps({"dataframe_records": [record]}),
    )
    if (BENTO_BIN / "bentoml").exists():
        port = free_port()
        add(
            "BentoML 1.4.39",
            [
                str(BENTO_BIN / "bentoml"),
                "serve",
                "service:Churn",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            f"http://127.0.0.1:{port}/readyz",
            f"http://127.0.0.1:{port}/predict",
            json.dumps({"records": [record]}),
        )
    else:
        console.print(
            "[yellow]BentoML skipped: create bench/.venv-bentoml (see bench/README.md)[/]"
        )
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name, command, ready, url, body in contenders:
        proc_env = {**env, "BENCH_MODEL": str(work / "model.pkl")}
        with console.status(f"{name}"):
            proc = Proc(name, command, ready, proc_env, work)
            try:
                results[name] = {c: drive(proc, url, body, n, c) for c in (1, 16)}
            finally:
                proc.stop()
    console.print(f"load average at end: {load()}")
    floor = results["bare Starlette (floor)"]
    table = Table(title=f"{n:,} one-row requests per cell, one worker (server CPU 0, client CPU 1)")
    for column in (
        "server",
        "c",
        "req/s",
        "p50 ms",
        "p99 ms",
        "server CPU ms/req",
        "× floor CPU",
        "errors",
    ):
        table.add_column(column, justify="left" if column == "server" else "right")
    for name, cells in results.items():
        for c, r in cells.items():
            table.add_row(
                name,
                str(c),
                f"{r['rps']:.0f}",
                f"{r['p50_ms']:.2f}",
                f"{r['p99_ms']:.2f}",
                f"{r['cpu_ms']:.3f}",
                f"{r['cpu_ms'] / floor[c]['cpu_ms']:.2f}",
                str(int(r["errors"])),
            )
    console.print(table)
    ours, unlogged = results["shipway serve"], results["shipway serve --no-log"]
    checks = []
    for c in (1, 16):
        checks.append(
            (
                f"c={c}: shipway CPU/request ≤ 1.5× the floor",
                ours[c]["cpu_ms"] / floor[c]["cpu_ms"],
                1.5,
                "≤",
            )
        )
        if "mlflow models serve" in results:
            checks.append(
                (
                    f"c={c}: MLflow CPU/request ÷ shipway ≥ 4",
                    results["mlflow models serve"][c]["cpu_ms"] / ours[c]["cpu_ms"],
                    4,
                    "≥",
                )
            )
        checks.append(
            (
                f"c={c}: throughput lost to prediction logging < 15%",
                1 - ours[c]["rps"] / unlogged[c]["rps"],
                0.15,
                "<",
            )
        )
    for label, value, target, op in checks:
        met = value <= target if op == "≤" else value >= target if op == "≥" else value < target
        console.print(f"{label}: {value:.2f} ({'met' if met else 'NOT met'})")
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "serving.json").write_text(
        json.dumps({"load_average": load(), "requests": n, "results": results}, indent=2)
    )


if __name__ == "__main__":
    sys.exit(main())
