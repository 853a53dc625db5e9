"""The closed loop after an abrupt change, over several seeds: how much of an oracle's gain it
keeps, and how many requests pass between the break and a model of the new concept serving
all traffic (the lag).

The stream is SEA concepts (Street and Kim, 2001), the standard generator of abrupt concept
drift, made by river's SEA generator: three features uniform on [0, 10], a row is
positive when ``x0 + x1 <= 7`` with 10% of labels flipped, and at row ``--break-at`` the
threshold jumps to 9.5 at once (width 1), so one row in eight changes its meaning. A model
trained on 2,000 rows before the break serves the stream through a real model server on
loopback, ``--batch`` rows a request; labels arrive one chunk of ``--chunk`` rows late, and a
controller round follows every chunk. The loop retrains on the newest 2,000 labelled rows
(``break_retrain.py``), gates the candidate against the champion on 500 rows neither learnt
from, and rolls it out as a canary of 10%, 50% and 100%, at least 20 requests a step.

Each seed runs the loop twice on the same stream: with every canary step, and with
``wide_margin = 0.05`` (a gate gain that wide and significant starts the canary at 50%).
Beside them, on the same rows:

- static: the model trained before the break, never retrained;
- oracle: retrained before every chunk on the newest 2,000 labelled rows (the loop's recipe
  with no gate, no canary and no wait).

Lag: requests sent from the break until the deployment's stable version is one registered
after the break's first labels arrived, with no canary beside it.

Usage: .venv/bin/python bench/loop_break.py [--seeds 5] [--rows 10000] [--break-at 4000]
(river is pinned in bench/requirements.txt.)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import RESULTS, console, load
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))  # the controller imports break_retrain

DEPLOYMENT = "sea-live"
TRAIN_ROWS = 2000
RECENT = 2000


def sea(seed: int, rows: int, break_at: int) -> Any:
    """``rows`` of SEA concepts, threshold 7 then 9.5 from ``break_at`` on, 10% noise: river's
    two SEA generators one after the other, the limit of its ``ConceptDriftStream`` as the
    width goes to 0 (its sigmoid overflows at width 1 this far from the break)."""
    import itertools

    import pandas as pd
    from river.datasets import synth

    old = synth.SEA(variant=2, noise=0.1, seed=seed).take(break_at)
    new = synth.SEA(variant=3, noise=0.1, seed=seed + 1).take(rows - break_at)
    data = [(x[0], x[1], x[2], int(y)) for x, y in itertools.chain(old, new)]
    return pd.DataFrame(data, columns=["x0", "x1", "x2", "label"])


def before_the_break(seed: int) -> Any:
    """The first model's training rows: the old concept only."""
    import pandas as pd
    from river.datasets import synth

    data = [
        (x[0], x[1], x[2], int(y))
        for x, y in synth.SEA(variant=2, noise=0.1, seed=seed + 100).take(TRAIN_ROWS)
    ]
    return pd.DataFrame(data, columns=["x0", "x1", "x2", "label"])


def run_loop(seed: int, stream: Any, wide_margin: float | None, args: Any) -> dict[str, Any]:
    """One loop over ``stream`` in a store of its own; what it served, and when."""
    import httpx
    from break_retrain import FEATURES, model

    import shipway as sw
    from shipway.automation.controller import Controller
    from shipway.automation.gate import Gate
    from shipway.automation.loops import Loop, Rollout, Trigger
    from shipway.demo.loop import _Background
    from shipway.serving.server import open_model_server
    from shipway.session import current

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SHIPWAY_HOME"] = str(Path(tmp) / "home")
        sw.configure()
        first = before_the_break(seed)
        with sw.start_run(experiment="sea", name="before the break") as run:
            run.log_model(
                model().fit(first[FEATURES], first["label"]),
                "model",
                input_example=first[FEATURES].head(),
            )
        sw.register_model(run, "sea")
        sw.deploy(DEPLOYMENT, model="sea", version=1, reason="trained before the break")
        loop = Loop(
            DEPLOYMENT,
            "break_retrain:retrain",
            {"deployment": DEPLOYMENT, "rows": RECENT},
            (Trigger.parse("labels:500"),),
            Gate("accuracy", min_gain=0.01, holdout_rows=500),
            "auto",
            Rollout(
                steps=(10, 50, 100),
                min_requests=20,
                max_latency_ratio=2.0,
                wide_margin=wide_margin,
            ),
        )
        server = open_model_server(current().settings, [DEPLOYMENT], poll_seconds=3600)
        controller = Controller(current(), {DEPLOYMENT: loop})
        controller.loop_round()
        served: list[Any] = []  # each chunk's answers
        moments: list[dict[str, Any]] = []  # after each chunk's round: who serves
        requests = failed = 0
        pending: list[dict[str, Any]] = []
        break_labelled_at: float | None = None
        try:
            with _Background(server.app) as url, httpx.Client(base_url=url, timeout=60) as client:
                for start in range(0, len(stream), args.chunk):
                    chunk = stream.iloc[start : start + args.chunk]
                    answers, labels = [], []
                    for i in range(0, len(chunk), args.batch):
                        part = chunk.iloc[i : i + args.batch]
                        answer = client.post(
                            f"/v1/models/{DEPLOYMENT}/predict",
                            json={"records": part[FEATURES].to_dict("records")},
                        )
                        requests += 1
                        if answer.status_code != 200:
                            failed += 1
                            answers += [None] * len(part)
                            continue
                        body = answer.json()
                        answers += body["predictions"]
                        labels += [
                            {"request_id": body["request_id"], "row": j, "label": int(v)}
                            for j, v in enumerate(part["label"])
                        ]
                    served.append(answers)
                    if pending:  # the previous chunk's labels arrive now
                        sw.log_ground_truth(DEPLOYMENT, pending)
                        if break_labelled_at is None and start - args.chunk >= args.break_at:
                            break_labelled_at = time.time()
                    pending = labels
                    server.log.flush()
                    controller.loop_round()
                    server.state.refresh()
                    deployment = sw.get_deployment(DEPLOYMENT)
                    stable = sw.get_model_version("sea", deployment.stable or 1)
                    moments.append(
                        {
                            "requests": requests,
                            "stable": deployment.stable,
                            "candidate": deployment.candidate,
                            "weight": deployment.weight,
                            "stable_after_break": break_labelled_at is not None
                            and stable.created_at > break_labelled_at,
                        }
                    )
        finally:
            server.session.close()
    return {"served": served, "moments": moments, "requests": requests, "failed": failed}


def oracle_and_static(seed: int, stream: Any, args: Any) -> tuple[list[float], list[float]]:
    """Per chunk: the static model's accuracy, and the oracle's (retrained before each chunk
    on the newest labelled rows, labels one chunk late as for the loop)."""
    from break_retrain import FEATURES, model

    first = before_the_break(seed)
    static = model().fit(first[FEATURES], first["label"])
    statics, oracles = [], []
    for start in range(0, len(stream), args.chunk):
        chunk = stream.iloc[start : start + args.chunk]
        known = stream.iloc[: max(start - args.chunk, 0)]  # labelled by now
        if len(known) >= 500:
            recent = known.tail(RECENT)
            oracle = model().fit(recent[FEATURES], recent["label"])
        else:
            oracle = static
        statics.append(float((static.predict(chunk[FEATURES]) == chunk["label"]).mean()))
        oracles.append(float((oracle.predict(chunk[FEATURES]) == chunk["label"]).mean()))
    return statics, oracles


def summarise(
    stream: Any, loop: dict[str, Any], statics: list[float], oracles: list[float], args: Any
) -> dict[str, Any]:
    import numpy as np

    accuracies = []
    for k, answers in enumerate(loop["served"]):
        truth = stream["label"].iloc[k * args.chunk : k * args.chunk + len(answers)].to_numpy()
        got = np.array([-1 if a is None else a for a in answers])
        accuracies.append(float((got == truth).mean()))
    gain_loop = float(np.mean(np.array(accuracies) - np.array(statics)))
    gain_oracle = float(np.mean(np.array(oracles) - np.array(statics)))
    break_request = args.break_at // args.batch
    healed = next(
        (
            m["requests"]
            for m in loop["moments"]
            if m["stable_after_break"] and m["candidate"] is None
        ),
        None,
    )
    after = args.break_at // args.chunk
    post_loop = float(np.mean(accuracies[after:]))
    post_oracle = float(np.mean(oracles[after:]))
    post_static = float(np.mean(statics[after:]))
    return {
        "kept": gain_loop / gain_oracle if gain_oracle > 0 else float("nan"),
        "gain_loop": gain_loop,
        "gain_oracle": gain_oracle,
        "lag_requests": None if healed is None else healed - break_request,
        "after_break": {"loop": post_loop, "oracle": post_oracle, "static": post_static},
        "failed": loop["failed"],
        "accuracy": accuracies,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--break-at", type=int, default=4000)
    parser.add_argument("--chunk", type=int, default=250, help="rows between controller rounds")
    parser.add_argument("--batch", type=int, default=10, help="rows per request")
    args = parser.parse_args()
    logging.getLogger("shipway").setLevel(logging.ERROR)
    here = Path.cwd()
    results: dict[str, list[dict[str, Any]]] = {"every step": [], "wide margin": []}
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        for seed in range(1, args.seeds + 1):
            stream = sea(seed, args.rows, args.break_at)
            statics, oracles = oracle_and_static(seed, stream, args)
            for name, wide in (("every step", None), ("wide margin", 0.05)):
                started = time.perf_counter()
                loop = run_loop(seed, stream, wide, args)
                found = summarise(stream, loop, statics, oracles, args)
                found["seconds"] = time.perf_counter() - started
                found["seed"] = seed
                results[name].append(found)
                console.print(
                    f"seed {seed}, {name}: keeps {found['kept']:.0%} of the oracle's gain, "
                    f"lag {found['lag_requests']} requests, {found['failed']} failed "
                    f"({found['seconds']:.0f} s)"
                )
    os.chdir(here)
    table = Table(
        title=f"SEA, abrupt change at row {args.break_at} of {args.rows}, {args.seeds} seeds "
        f"(load {load()})",
        title_justify="left",
    )
    for column in (
        "rollout",
        "kept of oracle's gain",
        "lag (requests)",
        "accuracy after break",
        "failed",
    ):
        table.add_column(column, justify="left" if column == "rollout" else "right")
    for name, runs in results.items():
        kept = [r["kept"] for r in runs]
        lags = [r["lag_requests"] for r in runs if r["lag_requests"] is not None]
        never = sum(r["lag_requests"] is None for r in runs)
        table.add_row(
            name,
            f"{statistics.median(kept):.0%} (min {min(kept):.0%}, max {max(kept):.0%})",
            (f"{statistics.median(lags):.0f} (min {min(lags)}, max {max(lags)})" if lags else "-")
            + (f", {never} never" if never else ""),
            f"{statistics.mean(r['after_break']['loop'] for r in runs):.3f}",
            str(sum(r["failed"] for r in runs)),
        )
    oracle_after = statistics.mean(r["after_break"]["oracle"] for r in results["every step"])
    static_after = statistics.mean(r["after_break"]["static"] for r in results["every step"])
    console.print(table)
    console.print(
        f"after the break, over all seeds: oracle {oracle_after:.3f}, static {static_after:.3f}; "
        f"the break is request {args.break_at // args.batch} of {args.rows // args.batch}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loop_break.json").write_text(
        json.dumps({"args": vars(args), "load": load(), "runs": results}, indent=2)
    )


if __name__ == "__main__":
    main()
