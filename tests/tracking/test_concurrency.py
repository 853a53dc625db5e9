"""Several training processes logging to one SQLite store at once lose nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import shipway
from shipway.config import Settings
from shipway.store import open_stores

WORKER = """
import sys
import shipway as sw
sw.configure(home=sys.argv[1], flush_seconds=0.05)
worker = int(sys.argv[2])
for r in range(5):
    with sw.start_run(experiment="race", name=f"w{worker}-r{r}", params={"worker": worker}) as run:
        for step in range(200):
            sw.log_metric("loss", step, step=step)
        sw.set_tag("done", "yes")
"""


def test_four_processes_log_to_one_sqlite_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    src = str(Path(shipway.__file__).parents[1])
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(home), str(i)],
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONPATH": src, "PATH": ""},
        )
        for i in range(4)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    assert not any("locked" in e for e in errors)
    stores = open_stores(Settings.resolve({"home": home}, environ={}))
    exp = stores.tracking.get_experiment("race")
    runs = stores.tracking.search_runs([exp.experiment_id], max_results=100)
    assert len(runs) == 20
    assert all(
        r.status.value == "FINISHED" and r.tags["done"] == "yes" and r.metrics["loss"] == 199
        for r in runs
    )
    assert all(len(stores.tracking.get_metric_history(r.run_id, "loss")) == 200 for r in runs)
    stores.close()


EXIT_WITHOUT_FLUSH = """
import sys
import shipway as sw
sw.configure(home=sys.argv[1], flush_seconds=3600)  # the background writer will not run
run = sw.start_run(experiment="exit")
for step in range(50):
    sw.log_metric("loss", step, step=step)
print(run.run_id)
# no flush, no end_run: the interpreter's exit must still write the buffered values
"""


def test_buffered_metrics_survive_a_normal_exit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = tmp_path / "exit.py"
    script.write_text(EXIT_WITHOUT_FLUSH)
    src = str(Path(shipway.__file__).parents[1])
    done = subprocess.run(
        [sys.executable, str(script), str(home)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": ""},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    stores = open_stores(Settings.resolve({"home": home}, environ={}))
    run_id = done.stdout.strip()
    assert len(stores.tracking.get_metric_history(run_id, "loss")) == 50
    assert stores.tracking.get_run(run_id).status.value == "FINISHED"
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            EXIT_WITHOUT_FLUSH.replace("print(run.run_id)", "print(run.run_id, flush=True); 1/0"),
            str(home),
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": src, "PATH": ""},
        timeout=120,
    )
    assert crashed.returncode == 1 and "ZeroDivisionError" in crashed.stderr
    assert stores.tracking.get_run(crashed.stdout.strip()).status.value == "FAILED"
    stores.close()
