"""``shipway controller --once`` and ``shipway loops status`` as a user runs them: a loop in
shipway.toml, set off by a new dataset version, judged on a named holdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

TRAIN = """
import pandas as pd
from sklearn.linear_model import LogisticRegression

import shipway as sw


@sw.step(cache=False)
def rows() -> pd.DataFrame:
    return sw.load_dataset("customers")


@sw.step
def fit(frame: pd.DataFrame):
    return LogisticRegression().fit(frame[["spend"]], frame["churned"])


@sw.pipeline
def retrain():
    return fit(rows())
"""

CONFIG = """
[loops.churn-live]
pipeline = "train.py:retrain"
triggers = ["dataset:customers"]
gate = { metric = "accuracy", min = 0.8, holdout = "holdout@1", label = "churned" }
rollout = { steps = [25, 100], min_requests = 5 }
"""


def _frame(rows: int, seed: int) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    spend = rng.normal(size=rows)
    return pd.DataFrame({"spend": spend, "churned": (spend > 0).astype(int)})


def _project(tmp_path: Path, cli: Any) -> None:
    """A champion that always says 0, serving churn-live, a holdout, and the loop."""
    from sklearn.dummy import DummyClassifier

    import shipway as sw

    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "shipway.toml").write_text(CONFIG)
    frame = _frame(400, 0)
    frame.to_parquet(tmp_path / "holdout.parquet")
    cli("data", "add", "holdout.parquet", "--name", "holdout")
    always_no = DummyClassifier(strategy="constant", constant=0).fit(
        frame[["spend"]], frame["churned"]
    )
    with sw.start_run(experiment="churn") as run:
        run.log_model(always_no, "model", input_example=frame[["spend"]].head())
    sw.register_model(run, "churn")
    cli("deploy", "churn-live", "--model", "churn", "--version", "1")


def test_a_new_dataset_version_starts_the_loop_and_status_says_where_it_is(
    tmp_path: Path, cli: Any
) -> None:
    _project(tmp_path, cli)
    (status,) = json.loads(cli("loops", "status", "--json"))
    assert status["shown"] == "idle (no controller round yet)"
    assert "1 loop(s) idle, waiting for a trigger" in cli("controller", "--once")
    (status,) = json.loads(cli("loops", "status", "churn-live", "--json"))
    assert status["state"] == "idle" and status["champion"] == 1

    _frame(1000, 1).to_parquet(tmp_path / "customers.parquet")
    cli("data", "add", "customers.parquet", "--name", "customers")
    environment = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), "COLUMNS": "250"}
    done = subprocess.run(  # a second process, as cron runs it
        [str(Path(sys.executable).parent / "shipway"), "controller", "--once"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "canary step 1/2" in done.stdout
    (status,) = json.loads(cli("loops", "status", "--json"))
    assert (status["state"], status["candidate"], status["champion"]) == ("canary", 2, 1)
    assert "dataset:customers: version 1 is new" in status["trigger"]
    verdict = status["verdict"]
    assert verdict["passed"] and verdict["holdout"] == "holdout@1" and verdict["rows"] == 400
    assert verdict["candidate"] > 0.9 and verdict["champion"] < 0.6


def test_loop_state_reads_through_a_server_as_a_viewer(
    tmp_path: Path, cli: Any, monkeypatch: Any
) -> None:
    """Issue 23, item 7: `shipway loops status` (and GET /api/v1/loops) through a server."""
    from shipway import session as context
    from shipway.config import Settings
    from shipway.store import open_stores
    from shipway.store.token_store import TokenStore
    from tests.client.conftest import LiveServer

    _project(tmp_path, cli)
    cli("controller", "--once")
    settings = Settings.resolve(environ={"SHIPWAY_HOME": str(tmp_path / "home")}, cwd=tmp_path)
    stores = open_stores(settings)
    viewer = TokenStore(stores.db).create("vera", "viewer")[0]
    stores.close()
    server = LiveServer(settings)
    try:
        monkeypatch.setenv("SHIPWAY_TRACKING_URI", server.url)
        monkeypatch.setenv("SHIPWAY_TOKEN", viewer)
        if context._current is not None:
            context._current.close()
        context._current = None  # the CLI as the viewer, through the server
        (status,) = json.loads(cli("loops", "status", "--json"))
        assert (status["deployment"], status["state"], status["champion"]) == (
            "churn-live",
            "idle",
            1,
        )
        assert "churn-live" in cli("loops", "status", "churn-live")
        assert "no loop for deployment 'nope'" in cli("loops", "status", "nope", code=2)
    finally:
        server.stop()


def test_a_loop_status_for_no_such_loop_says_which_exist(tmp_path: Path, cli: Any) -> None:
    _project(tmp_path, cli)
    out = cli("loops", "status", "nosuch", code=2)
    assert "no loop for deployment 'nosuch' (loops: churn-live)" in out
    assert "Traceback" not in out


def test_a_bad_loop_in_shipway_toml_stops_the_controller_with_one_line(
    tmp_path: Path, cli: Any
) -> None:
    (tmp_path / "shipway.toml").write_text(CONFIG.replace("dataset:customers", "datset:x"))
    out = cli("controller", "--once", code=2)
    assert "[loops.churn-live]" in out and "did you mean 'dataset'" in out
    assert "Traceback" not in out


def test_a_mistyped_loop_value_stops_the_controller_with_one_line(tmp_path: Path, cli: Any) -> None:
    mistyped = CONFIG.replace("min_requests = 5", 'min_requests = "many"')
    assert mistyped != CONFIG
    (tmp_path / "shipway.toml").write_text(mistyped)
    out = cli("controller", "--once", code=2)
    assert "min_requests is a whole number, not 'many'" in out and "Traceback" not in out
