"""The closed loop on the flights: how much of an oracle's gain over a static model it keeps.

A model trained on January and February serves March to December, 1,500 flights a month,
through a real model server on loopback, in requests of 3 flights, with the labels arriving
after each month and a controller round after each twelfth of a month, about every 2.5 days
(the demo's loop, `shipway.demo.loop`, with finer time than the demo's thirds of a month). The
loop's accuracy per month is what the served predictions scored against their labels (the
canary's share included). Beside it, on the same flights:

- static: the January–February model, never retrained;
- oracle: retrained before every month on the winter data plus every labelled flight so far
  (the loop's own recipe, `shipway.demo.retrain`, with no holdout, no gate and no canary).

Target (issue 14): the loop recovers at least 90% of the oracle's gain over the static
model, with no failed request.

Usage: .venv/bin/python bench/loop.py [--per-month 1500] [--last-month 12]
       .venv/bin/python bench/loop.py --stream sea [--seeds 5] ...   the loop after an abrupt
       change, over seeds: the share of an oracle's gain and the lag from the break to a new
       model serving all traffic (``loop_break.py``, which this runs)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path

from common import RESULTS, console, load
from rich.table import Table


def main() -> None:
    import sys

    if "--stream" in sys.argv:  # the abrupt change: another stream, its own options
        at = sys.argv.index("--stream")
        stream = sys.argv[at + 1] if at + 1 < len(sys.argv) else ""
        if stream == "sea":
            import loop_break

            sys.argv = [sys.argv[0], *sys.argv[:at][1:], *sys.argv[at + 2 :]]
            loop_break.main()
            return
        if stream != "flights":
            sys.exit(f"--stream is flights (the default) or sea, not {stream!r}")
        sys.argv = [sys.argv[0], *sys.argv[:at][1:], *sys.argv[at + 2 :]]
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-month", type=int, default=1500)
    parser.add_argument("--last-month", type=int, default=12)
    parser.add_argument("--parts", type=int, default=12, help="controller rounds a month")
    parser.add_argument("--batch", type=int, default=3, help="flights per request")
    args = parser.parse_args()
    per_month, months = args.per_month, tuple(range(3, args.last_month + 1))

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SHIPWAY_HOME"] = str(Path(tmp) / "home")
        os.chdir(tmp)
        import pandas as pd

        import shipway as sw
        from shipway.demo import retrain
        from shipway.demo.data import FEATURES, LABEL, load_flights
        from shipway.demo.loop import MONTH_NAMES, run_loop
        from shipway.demo.run import build_pipeline

        logging.getLogger("shipway").setLevel(logging.ERROR)
        sw.configure()
        winter = load_flights([1, 2])
        held = winter.sample(frac=0.1, random_state=1)  # calibrates the estimate, as in the demo
        winter = winter.drop(held.index)
        static = build_pipeline(0.1, 100).fit(winter[FEATURES], winter[LABEL])
        with sw.start_run(experiment="flight-delay", name="static") as run:
            run.log_dataset(retrain.HISTORY, winter, role="train")
            run.log_model(static, "model", input_example=winter[FEATURES].head(5))
        version = sw.register_model(run, "flight-delay")
        started = time.perf_counter()
        outcome = run_loop(
            "flight-delay",
            version.version,
            console,
            reference=held,
            months=months,
            per_month=per_month,
            parts=args.parts,
            batch=args.batch,
        )
        loop_seconds = time.perf_counter() - started

        history = winter[[*FEATURES, LABEL]].rename(columns={LABEL: "label"})
        served: list[pd.DataFrame] = []
        rows = []
        for month, found in zip(months, outcome.months, strict=True):
            flights = load_flights([month]).sample(per_month, random_state=month)  # as served
            truth = flights[LABEL].to_numpy()
            oracle = static
            if served:
                recent = pd.concat(served, ignore_index=True)
                recent = recent[FEATURES].assign(label=recent[LABEL])
                oracle = retrain.fit(recent, history, 1.0)  # outside a pipeline: the function
            report = found["report"]
            rows.append(
                {
                    "month": MONTH_NAMES[month],
                    "static": float((static.predict(flights[FEATURES]) == truth).mean()),
                    "loop": float(report.realised["accuracy"]) if report else None,
                    "oracle": float((oracle.predict(flights[FEATURES]) == truth).mean()),
                    "champion": found["champion"],
                    "moves": found["moves"],
                }
            )
            served.append(flights)

    judged = [r for r in rows if r["loop"] is not None]
    gain_loop = sum(r["loop"] - r["static"] for r in judged) / len(judged)
    gain_oracle = sum(r["oracle"] - r["static"] for r in judged) / len(judged)
    kept = gain_loop / gain_oracle if gain_oracle > 0 else float("nan")
    table = Table(
        title=f"accuracy per month, {per_month} flights each (load {load()})", title_justify="left"
    )
    for column in ("month", "static", "loop", "oracle", "champion", "loop's moves"):
        table.add_column(column, justify="left" if column in ("month", "loop's moves") else "right")
    for r in rows:
        table.add_row(
            r["month"],
            f"{r['static']:.3f}",
            "-" if r["loop"] is None else f"{r['loop']:.3f}",
            f"{r['oracle']:.3f}",
            f"v{r['champion']}",
            "; ".join(r["moves"]),
        )
    console.print(table)
    console.print(
        f"mean gain over the static model: loop {gain_loop:+.4f}, oracle {gain_oracle:+.4f}; "
        f"the loop keeps {kept:.0%} of the oracle's gain (target ≥ 90%: "
        f"{'met' if kept >= 0.9 else 'NOT met'}); {outcome.failed} failed request(s) "
        f"(target 0: {'met' if outcome.failed == 0 else 'NOT met'}); "
        f"the loop's replay took {loop_seconds:.0f} s"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "loop.json").write_text(
        json.dumps(
            {
                "per_month": per_month,
                "load": load(),
                "months": rows,
                "gain_loop": gain_loop,
                "gain_oracle": gain_oracle,
                "kept": kept,
                "failed": outcome.failed,
                "seconds": loop_seconds,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
