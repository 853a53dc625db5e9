"""shipway's drift detection vs Evidently's DataDriftPreset vs a plain numpy/scipy floor.

Usage: python bench/drift.py [--quick] [--rows 100000 1000000]
Each contender runs in its own process on the same Parquet files, so CPU seconds and peak
memory are its own. Data: 30 numeric and 10 categorical columns; num_0 +0.5σ, num_1 ×1.5
spread, num_2 +0.2σ and cat_0 reversed are real drifts; num_3 +0.02σ, num_4 +0.01σ and
cat_1 ±1% are shifts too small to matter; the rest are unshifted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
from common import RESULTS, console, load
from rich.table import Table

REAL_DRIFT = {"num_0", "num_1", "num_2", "cat_0"}

CHILD = r"""
import json, resource, sys, time
import pandas as pd
ref = pd.read_parquet(sys.argv[2]); cur = pd.read_parquet(sys.argv[3])
numeric = [c for c in ref.columns if c.startswith("num_")]; categorical = [c for c in ref.columns if c.startswith("cat_")]
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def cpu(): r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
contender = sys.argv[1]
if contender == "shipway":
    from shipway.stats import detect_drift
    def run():
        result = detect_drift(ref, cur)
        return sorted(result.drifted_columns)
elif contender == "evidently":
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    def run():
        definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                                   Dataset.from_pandas(ref, data_definition=definition))
        drifted = []
        for metric in snapshot.dict()["metrics"]:
            name = metric.get("metric_name", "") or metric.get("metric_id", "")
            if name.startswith("ValueDrift") and isinstance(metric.get("value"), (int, float)):
                column = name.split("column=", 1)[1].split(",")[0].rstrip(")")
                if metric["value"] >= 0.1:
                    drifted.append(column)
        return sorted(drifted)
else:
    import numpy as np
    from scipy import stats
    from scipy.spatial import distance
    def run():
        drifted = []
        for c in numeric:
            r = ref[c].to_numpy(float); k = cur[c].to_numpy(float)
            if stats.wasserstein_distance(r, k) / max(r.std(ddof=1), 1e-3) >= 0.1:
                drifted.append(c)
        for c in categorical:
            a = ref[c].value_counts(); b = cur[c].value_counts()
            keys = a.index.union(b.index)
            p = a.reindex(keys, fill_value=0).to_numpy(float); q = b.reindex(keys, fill_value=0).to_numpy(float)
            if distance.jensenshannon(p / p.sum(), q / q.sum()) >= 0.1:
                drifted.append(c)
        return sorted(drifted)
before_rss, start_cpu, start_wall = rss(), cpu(), time.perf_counter()
drifted = run()
print(json.dumps({"cpu": cpu() - start_cpu, "wall": time.perf_counter() - start_wall, "extra_mb": rss() - before_rss, "drifted": drifted}))
"""


def make_data(rows: int, folder: Path) -> tuple[Path, Path]:
    import pandas as pd

    ref_path, cur_path = folder / f"drift_ref_{rows}.parquet", folder / f"drift_cur_{rows}.parquet"
    if ref_path.exists() and cur_path.exists():
        return ref_path, cur_path
    rng = np.random.default_rng(42)
    makers = [
        lambda n, s=0.0, k=1.0: rng.normal(s, k, n),
        lambda n, s=0.0, k=1.0: rng.lognormal(s, 0.5 * k, n),
        lambda n, s=0.0, k=1.0: rng.uniform(s, s + k * 3, n),
        lambda n, s=0.0, k=1.0: rng.exponential(k, n) + s,
        lambda n, s=0.0, k=1.0: rng.gamma(2.0, k, n) + s,
        lambda n, s=0.0, k=1.0: rng.poisson(30, n) * k + s * 5.5,
    ]
    ref, cur = {}, {}
    shifts = {0: (0.5, 1.0), 1: (0.0, 1.5), 2: (0.2, 1.0), 3: (0.02, 1.0), 4: (0.01, 1.0)}
    for i in range(30):
        make = makers[i % len(makers)] if i > 4 else makers[0]
        ref[f"num_{i}"] = make(rows)
        shift, scale = shifts.get(i, (0.0, 1.0))
        cur[f"num_{i}"] = make(rows, shift, scale)
    for i in range(10):
        levels = [f"L{j}" for j in range(3 + i * 5)]
        weights = 1 / np.arange(1, len(levels) + 1)
        weights /= weights.sum()
        current_weights = weights[::-1] if i == 0 else weights
        if i == 1:
            current_weights = weights * (1 + 0.01 * np.where(np.arange(len(levels)) % 2, 1, -1))
            current_weights /= current_weights.sum()
        ref[f"cat_{i}"] = pd.Categorical(rng.choice(levels, rows, p=weights), categories=levels)
        cur[f"cat_{i}"] = pd.Categorical(
            rng.choice(levels, rows, p=current_weights), categories=levels
        )
    pd.DataFrame(ref).to_parquet(ref_path)
    pd.DataFrame(cur).to_parquet(cur_path)
    return ref_path, cur_path


def contender(name: str, ref: Path, cur: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, name, str(ref), str(cur)], capture_output=True, text=True
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rows", type=int, nargs="*")
    args = parser.parse_args()
    sizes = args.rows or ([10_000] if args.quick else [100_000, 1_000_000])
    RESULTS.mkdir(exist_ok=True)
    console.print(f"load average at start: {load()}")
    results: dict[int, dict[str, Any]] = {}
    for rows in sizes:
        with console.status(f"{rows:,} rows: generating data"):
            ref, cur = make_data(rows, RESULTS)
        results[rows] = {}
        for name in ("shipway", "evidently", "numpy/scipy"):
            with console.status(f"{rows:,} rows: {name}"):
                results[rows][name] = contender(
                    name.split("/")[0] if name != "numpy/scipy" else "baseline", ref, cur
                )
    console.print(f"load average at end: {load()}")
    table = Table(
        title="data drift: 30 numeric + 10 categorical columns (CPU seconds; peak extra MB)",
        title_justify="left",
    )
    for column in (
        "rows",
        "contender",
        "CPU s",
        "wall s",
        "extra MB",
        "drifted columns",
        "agrees",
        "false alarms",
    ):
        table.add_column(column)
    for rows, by_name in results.items():
        truth = set(by_name["numpy/scipy"].get("drifted", []))
        for name, r in by_name.items():
            if "error" in r:
                table.add_row(f"{rows:,}", name, "error", "", "", r["error"][:60], "", "")
                continue
            drifted = set(r["drifted"])
            table.add_row(
                f"{rows:,}",
                name,
                f"{r['cpu']:.2f}",
                f"{r['wall']:.2f}",
                f"{r['extra_mb']:.0f}",
                ", ".join(sorted(drifted)),
                "yes" if drifted == truth else "NO",
                ", ".join(sorted(drifted - REAL_DRIFT)) or "none",
            )
        ours, evidently, floor = (
            by_name[n].get("cpu") for n in ("shipway", "evidently", "numpy/scipy")
        )
        if ours:
            note = (
                f"{rows:,} rows: Evidently / shipway = {evidently / ours:.1f}× (target ≥ 15×)"
                if evidently
                else f"{rows:,} rows: Evidently failed"
            )
            note += (
                f"; shipway / numpy-scipy floor = {ours / floor:.2f}× (target ≤ 1.2×)"
                if floor
                else ""
            )
            table.caption = ((table.caption or "") + "\n" + note).strip()
    console.print(table)
    (RESULTS / "drift.json").write_text(
        json.dumps(
            {"load_average": load(), "results": {str(k): v for k, v in results.items()}}, indent=2
        )
    )


if __name__ == "__main__":
    main()
