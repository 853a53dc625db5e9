"""``shipway controller`` stops cleanly on SIGTERM and SIGINT, even while a pipeline hangs:
it exits within its 30 s, hands the monitoring lease on at once, and a successor takes the
rounds in its next round (issue 22, item 6)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from shipway.config import Settings
from tests.conftest import stop_process

TRAIN = """
import threading

import shipway as sw


@sw.step(cache=False)
def hang() -> int:
    threading.Event().wait()  # a pipeline stuck for good: a lost connection, a deadlock
    return 1


@sw.pipeline
def retrain():
    return hang()
"""

CONFIG = """
[loops.churn-live]
pipeline = "train.py:retrain"
triggers = ["dataset:customers"]
gate = { metric = "accuracy", min = 0.5, holdout = "holdout@1", label = "churned" }
"""


def _project(folder: Path) -> dict[str, str]:
    """A deployment, a holdout, the hanging loop, and a new dataset version that starts it."""
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    import shipway as sw
    from shipway import session as context

    (folder / "train.py").write_text(TRAIN)
    (folder / "shipway.toml").write_text(CONFIG)
    env = {**os.environ, "SHIPWAY_HOME": str(folder / "home"), "SHIPWAY_USER": "ops"}
    env.pop("SHIPWAY_TRACKING_URI", None)
    previous = context._current
    context._current = context.Session(Settings.resolve(environ=env, cwd=folder))
    try:
        frame = pd.DataFrame({"spend": np.arange(40.0), "churned": np.arange(40) % 2})
        sw.log_dataset("holdout", frame)
        model = DummyClassifier().fit(frame[["spend"]], frame["churned"])
        with sw.start_run(experiment="churn") as run:
            run.log_model(model, "model", input_example=frame[["spend"]].head())
        sw.register_model(run, "churn")
        sw.deploy("churn-live", model="churn", version=1)
    finally:
        context._current.close()
        context._current = previous
    return env


def _new_customers(folder: Path, env: dict[str, str]) -> None:
    """A dataset version the running loop has not seen: its trigger."""
    import numpy as np
    import pandas as pd

    from shipway import session as context

    session = context.Session(Settings.resolve(environ=env, cwd=folder))
    try:
        frame = pd.DataFrame({"spend": np.arange(50.0), "churned": np.arange(50) % 2})
        session.datasets.add("customers", frame)
    finally:
        session.close()


def _wait_for(folder: Path, env: dict[str, str], state: str, process: Any) -> None:
    deadline = time.monotonic() + 120
    while _state(folder, env)[0] != state:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"the loop never reached {state}"
        time.sleep(0.2)  # polling for a state, bounded by the deadline


def _state(folder: Path, env: dict[str, str]) -> tuple[str | None, str | None]:
    """The loop's state and who holds the monitoring lease, as the store says now."""
    from shipway.automation.rounds import LEASE
    from shipway.store import open_stores
    from shipway.store.lease_store import LeaseStore
    from shipway.store.loop_store import LoopStore

    stores = open_stores(Settings.resolve(environ=env, cwd=folder))
    try:
        found = LoopStore(stores.db).find("churn-live")
        return (found.state if found else None), LeaseStore(stores.db).holder(LEASE)
    finally:
        stores.close()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_the_controller_stops_on_a_signal_while_a_training_hangs(
    tmp_path: Path, how: signal.Signals
) -> None:
    env = _project(tmp_path)
    controller = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.app", "controller", "--interval", "0.05"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(tmp_path, env, "idle", controller)
        _new_customers(tmp_path, env)
        _wait_for(tmp_path, env, "training", controller)
        assert _state(tmp_path, env)[1] is not None, "the controller holds the lease"
        controller.send_signal(how)
        out, err = controller.communicate(timeout=45)  # its 30 s, and a start-up's margin
    finally:
        stop_process(controller)
    assert controller.returncode == 0, (out, err)
    assert "a training was abandoned" in out and "Traceback" not in err
    state, holder = _state(tmp_path, env)
    assert holder is None, "the lease was handed on at once, not left to run out"
    assert state == "training", "a restarted controller trains the loop again"
