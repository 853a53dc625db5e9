"""A controller round over 100 deployments with loops and no pending work.

`shipway controller --once` is what cron jobs and tests call, so an idle round must be cheap.
The store holds one model and 100 deployments of it, each with a loop whose triggers all
have to be checked (a weekly schedule, an alert rule, 1,000 new labels, a dataset) and none
of which is due. Measured: CPU of one round in a warm process (monitoring included, then the
loops only), and CPU of the whole `shipway controller --once` command in a fresh process
(import and start-up included). The limit is 1 s of CPU for a round (issue 14); there is no
peer, since no open-source peer has a controller that runs without Kubernetes.

Usage: .venv/bin/python bench/controller.py [--deployments 100] [--tracking-uri URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, console, load, user_environ
from rich.table import Table

LOOP = """
[loops.{name}]
pipeline = "train.py:retrain"
triggers = ["schedule:0 3 * * 1", "alert:accuracy drop", "labels:1000", "dataset:customers"]
gate = {{ metric = "accuracy", min = 0.7, max_drop = 0.01 }}
"""
LIMIT = 1.0


def _setup(folder: Path, deployments: int, tracking_uri: str | None) -> dict[str, str]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import shipway as sw

    env = {**user_environ(), "SHIPWAY_HOME": str(folder / "home")}
    if tracking_uri:
        env["SHIPWAY_TRACKING_URI"] = tracking_uri
    os.environ.update(env)
    (folder / "shipway.toml").write_text(
        "".join(LOOP.format(name=f"d{i:03d}") for i in range(deployments))
    )
    os.chdir(folder)
    sw.configure()
    x = np.random.default_rng(0).normal(size=(200, 2))
    frame = pd.DataFrame(x, columns=["a", "b"])
    model = LogisticRegression().fit(frame, x[:, 0] > 0)
    with sw.start_run(experiment="bench") as run:
        run.log_dataset("train", frame.assign(label=x[:, 0] > 0), role="train")  # a reference
        run.log_model(model, "model", input_example=frame.head())
    sw.register_model(run, "m")
    for i in range(deployments):
        sw.deploy(f"d{i:03d}", model="m", version=1)
    return env


def _cpu_of_command(env: dict[str, str], folder: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "shipway"), "controller", "--once"],
        cwd=folder,
        env=env,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--tracking-uri", default=None, help="default: SQLite in a temp folder")
    args = parser.parse_args()

    import logging

    from shipway.automation.controller import Controller
    from shipway.session import current

    logging.getLogger("shipway").setLevel(logging.ERROR)  # "no traffic yet", 100 times

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = _setup(folder, args.deployments, args.tracking_uri)
        controller = Controller(current())
        assert len(controller.loops) == args.deployments
        controller.run_once()  # the first round starts every loop (each is written once)
        rounds = []
        for _ in range(5):
            cpu = time.process_time()
            controller.run_once()
            rounds.append(time.process_time() - cpu)
        loops_only = []
        for _ in range(5):
            cpu = time.process_time()
            states = controller.loop_round()
            loops_only.append(time.process_time() - cpu)
        assert all(s.state == "idle" for s in states.values()), "work was pending"
        command_cpu, command_wall = min(_cpu_of_command(env, folder) for _ in range(3))

    rows = [
        ("one round, warm process (monitoring + loops)", min(rounds)),
        ("the loops alone, warm process", min(loops_only)),
        ("`shipway controller --once`, fresh process (CPU)", command_cpu),
    ]
    table = Table(
        title=f"controller round over {args.deployments} idle deployments (load {load()})",
        title_justify="left",
    )
    for column in ("task", "CPU s", "limit s", "limit / shipway", "met"):
        table.add_column(column, justify="left" if column == "task" else "right")
    for task, value in rows:
        table.add_row(
            task,
            f"{value:.3f}",
            f"{LIMIT:g}",
            f"{LIMIT / value:.1f}×",
            "yes" if value < LIMIT else "no",
        )
    console.print(table)
    console.print(f"`shipway controller --once` wall time: {command_wall:.2f} s")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "controller.json").write_text(
        json.dumps(
            {
                "deployments": args.deployments,
                "load": load(),
                "round_cpu": rounds,
                "loops_cpu": loops_only,
                "command_cpu": command_cpu,
                "command_wall": command_wall,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
