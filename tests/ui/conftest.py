"""A seeded store behind a live ``shipway server`` for the UI's tests: an experiment of runs
(one with a long metric history and artifacts to preview), and the bundled flights served
through a loop that retrained on summer labels and now waits for a person's approval, with
tokens for a viewer, an approver and an admin."""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from shipway.config import LoopSettings, Settings
from shipway.demo.data import FEATURES, LABEL, load_flights
from shipway.demo.run import build_pipeline
from tests.automation.flight_loop import DEPLOYMENT
from tests.client.conftest import LiveServer

MODEL = "flights"
LONG_STEPS = 5_000
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class World:
    server: LiveServer
    settings: Settings
    tokens: dict[str, str]
    long_run: str
    spike_step: int


def _loop() -> LoopSettings:
    return LoopSettings(
        "tests.automation.flight_loop:retrain",
        triggers=("labels:1000",),
        gate={"metric": "accuracy", "min": 0.55, "max_drop": 0.0, "holdout_rows": 600},
        approval="manual",
        rollout={"steps": [10, 50, 100], "min_requests": 10},
    )


def _runs(sw: Any) -> tuple[str, int]:
    """60 small runs, and one whose loss has 5,000 steps with a single spike."""
    for i in range(60):
        with sw.start_run("ui", f"trial-{i:02d}", params={"depth": i % 5, "lr": 0.01 * (i + 1)}):
            sw.log_metrics({"auc": 0.5 + i / 200, "loss": 1 - i / 100})
    spike = 3_217
    with sw.start_run("ui", "long", params={"depth": 9, "lr": 0.5}) as run:
        for step in range(LONG_STEPS):
            sw.log_metric("train_loss", 50.0 if step == spike else 1 / (1 + step), step=step)
        sw.log_text("the model learnt well\n", "notes.txt")
        sw.log_text(
            "<html><body><h1>report</h1><script>parent.hacked = 1</script></body></html>",
            "report.html",
        )
        sw.log_dict({"features": FEATURES}, "features.json")
    return run.run_id, spike


def _loop_waiting(sw: Any, settings: Settings) -> None:
    """Version 1 from winter flights serves summer ones; their labels start the loop, the gate
    passes version 2, and it waits for approval."""
    from shipway.automation.controller import Controller
    from shipway.automation.loops import loops_from_settings
    from shipway.serving.server import open_model_server
    from shipway.session import current

    random.seed(0)
    winter = load_flights([1, 2]).sample(3000, random_state=0)
    model = build_pipeline(0.1, 60).fit(winter[FEATURES], winter[LABEL])
    with sw.start_run(experiment="flights") as run:
        run.log_dataset("winter", winter[[*FEATURES, LABEL]], role="train")
        run.log_model(model, "model", input_example=winter[FEATURES].head())
    sw.register_model(run, MODEL)
    sw.deploy(DEPLOYMENT, model=MODEL, version=1, reason="the winter model")
    controller = Controller(current(), loops_from_settings(settings))
    controller.loop_round()  # the loop starts: nothing is news yet
    server = open_model_server(settings, [DEPLOYMENT], poll_seconds=3600)
    summer = load_flights([7, 8]).sample(2400, random_state=0).reset_index(drop=True)
    labels = []
    with TestClient(server.app) as client:
        for start in range(0, len(summer), 100):
            part = summer.iloc[start : start + 100]
            records = part[FEATURES].astype(object).where(part[FEATURES].notna(), None)
            answer = client.post(
                f"/v1/models/{DEPLOYMENT}/predict", json={"records": records.to_dict("records")}
            )
            assert answer.status_code == 200, answer.text
            request_id = answer.json()["request_id"]
            labels += [
                {"request_id": request_id, "row": i, "label": int(v)}
                for i, v in enumerate(part[LABEL])
            ]
        server.log.flush()
    server.session.close()
    sw.log_ground_truth(DEPLOYMENT, labels)
    state = controller.loop_round()[DEPLOYMENT]
    assert state.state == "waiting_approval", state.detail.message


def chromium() -> str:
    """Debian's Chromium: required where SHIPWAY_TEST_CHROMIUM names it (as .ci/run does)."""
    named = os.environ.get("SHIPWAY_TEST_CHROMIUM")
    if named:
        assert Path(named).exists(), f"SHIPWAY_TEST_CHROMIUM={named} does not exist"
        return named
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("install Debian's chromium, or set SHIPWAY_TEST_CHROMIUM, to run browser tests")
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import shipway
    from shipway import session as context
    from shipway.store.token_store import TokenStore

    root = tmp_path_factory.mktemp("ui")
    settings = Settings.resolve({"home": root / "home", "user": "tester"}, environ={}, cwd=root)
    settings = dataclasses.replace(settings, loops={DEPLOYMENT: _loop()})
    context._current = context.Session(settings)
    try:
        long_run, spike = _runs(shipway)
        _loop_waiting(shipway, settings)
        store = TokenStore(context._current.stores.db)
        tokens = {
            role: store.create(f"the-{role}", role)[0] for role in ("viewer", "approver", "admin")
        }
        server = LiveServer(settings)
        try:
            yield World(server, settings, tokens, long_run, spike)
        finally:
            server.stop()
    finally:
        context._current.close()
        context._current = None
