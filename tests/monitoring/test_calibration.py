"""Estimated performance is calibrated on rows the model did not train on: a validation or
test dataset of the training run, else out-of-fold predictions, else the training rows with
a note that the estimate is optimistic. A random forest shows why: it is nearly always right
on its own training rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import serve  # noqa: F401 - the fixture


def _world(rng: np.random.Generator, n: int) -> pd.DataFrame:
    x = rng.normal(size=(n, 3))
    noisy = 1 / (1 + np.exp(-(x[:, 0] + 0.5 * x[:, 1])))
    return pd.DataFrame(
        {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "y": (rng.random(n) < noisy).astype(int)}
    )


@pytest.fixture
def forest(sw: Any, serve: Any) -> Any:  # noqa: F811
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(21)
    train, validation = _world(rng, 2000), _world(rng, 1500)
    features = ["a", "b", "c"]
    model = RandomForestClassifier(n_estimators=40, random_state=0)
    model.fit(train[features], train["y"])
    for logged in ((), ("validation",)):
        with sw.start_run(experiment="forest") as run:
            sw.log_dataset("forest-train", train, role="train")
            if logged:
                sw.log_dataset("forest-validation", validation, role="validation")
            run.log_model(model, "model", input_example=train[features].head())
        sw.register_model(run, "forest")
    sw.deploy("live", model="forest", version=1)
    client, server = serve("live")
    traffic = _world(rng, 1200)
    for start in range(0, len(traffic), 100):
        part = traffic.iloc[start : start + 100]
        answer = client.post(
            "/v1/models/live/predict", json={"records": part[features].to_dict("records")}
        )
        request = answer.json()["request_id"]
        sw.log_ground_truth(
            "live",
            [{"request_id": request, "row": i, "label": int(v)} for i, v in enumerate(part["y"])],
        )
    server.log.flush()
    return server


def _estimate(sw: Any) -> tuple[float, float, Any]:
    (report,) = sw.monitor("live", window=1200, label="y", rules=[])
    band = report.estimated["accuracy"]
    return band["value"], report.realised["accuracy"], report


def test_out_of_fold_scores_calibrate_by_default(sw: Any, forest: Any, monkeypatch: Any) -> None:
    from shipway.monitoring import calibration

    estimated, realised, report = _estimate(sw)
    assert "out-of-fold" in report.extra["estimated_from"]
    assert abs(estimated - realised) < 0.05, (estimated, realised)
    band = report.estimated["accuracy"]
    assert band["lower"] is not None and band["lower"] < estimated < band["upper"]

    monkeypatch.setattr(
        calibration, "out_of_fold", lambda *a: None
    )  # an estimator that cannot be refitted
    optimistic, realised, report = _estimate(sw)
    assert "optimistic" in report.extra["estimated_from"]
    assert optimistic > realised + 0.1, "what the training rows alone say: nearly always right"


def test_a_validation_dataset_of_the_run_calibrates(sw: Any, forest: Any) -> None:
    sw.deploy("live", model="forest", version=2)  # the same forest, its run logged a validation set
    forest.state.refresh()
    estimated, realised, report = _estimate(sw)
    assert report.extra["estimated_from"] == "the validation dataset forest-validation@1"
    assert abs(estimated - realised) < 0.05, (estimated, realised)
