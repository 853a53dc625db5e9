"""Monitors over served traffic: drift where the data moved, none where it did not, realised
performance from late labels, and CBPE's estimate beside it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.errors import InvalidArgument
from tests.cli.conftest import cli  # noqa: F401 - the fixture
from tests.serving.conftest import serve  # noqa: F401 - the fixture


def _world(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    x = rng.normal(loc=shift, size=n)
    colour = rng.choice(["red", "blue"], size=n)
    p = 1 / (1 + np.exp(-(2 * x + (colour == "red"))))
    return pd.DataFrame({"x": x, "colour": colour, "churned": (rng.random(n) < p).astype(int)})


@pytest.fixture
def served(sw: Any, serve: Any) -> Any:  # noqa: F811
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(7)
    train = _world(rng, 3000)
    features = train[["x", "colour"]]
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["colour"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(features, train["churned"])
    with sw.start_run(experiment="churn") as run:
        sw.log_dataset("churn-train", train, role="train")
        run.log_model(model, "model", input_example=features.head())
    sw.register_model(run, "churn")
    sw.deploy("live", model="churn", version=1)
    client, server = serve("live")
    return rng, client, server


def _send(client: Any, frame: pd.DataFrame) -> list[str]:
    ids = []
    for start in range(0, len(frame), 50):
        answer = client.post(
            "/v1/models/live/predict",
            json={"records": frame[["x", "colour"]].iloc[start : start + 50].to_dict("records")},
        )
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["request_id"])
    return ids


def test_drift_and_performance_window_by_window(sw: Any, served: Any) -> None:
    rng, client, server = served
    calm, moved = _world(rng, 400), _world(rng, 400, shift=1.5)
    for frame in (calm, moved):
        for _, row in frame.iterrows():  # one request a row, so labels join by request id
            answer = client.post(
                "/v1/models/live/predict", json=[{"x": row["x"], "colour": row["colour"]}]
            )
            client.post("/v1/feedback", json={"request_id": answer.json()["request_id"], "label": int(row["churned"])}) \
                if rng.random() < 0.5 else None  # fmt: skip
    server.log.flush()
    reports = sw.monitor("live", window=400, label="churned")
    assert [r.rows for r in reports] == [400, 400]
    first, second = reports
    assert first.data_drift["drifted_columns"] == [] and not first.prediction_drift["drifted"]
    assert second.data_drift["drifted_columns"] == ["x"] and second.prediction_drift["drifted"]
    for report in reports:
        assert 0.4 < report.label_coverage < 0.6
        assert report.realised["rows"] == round(report.label_coverage * 400)
        realised, estimated = report.realised["accuracy"], report.estimated["accuracy"]["value"]
        assert abs(realised - estimated) < 0.08, (realised, estimated)
    assert first.quality == {
        "missing": {},
        "out_of_range": {},
        "unseen_categories": {},
        "absent_columns": [],
    }


def test_quality_problems_and_key_labels(sw: Any, served: Any) -> None:
    rng, client, server = served
    odd = pd.DataFrame({"x": [50.0] * 40, "colour": ["green"] * 40})
    client.post("/v1/models/live/predict", json={"records": odd.to_dict("records")})
    sw.log_ground_truth("live", [{"key": {"x": 50.0, "colour": "green"}, "label": 1}])
    server.log.flush()
    (report,) = sw.monitor("live", window="day", label="churned")
    assert report.quality["out_of_range"] == {"x": 1.0} and report.quality["unseen_categories"] == {
        "colour": 1.0
    }
    assert report.label_coverage == 1.0, "the key label matched every row with that key"


def test_monitor_errors_and_the_command(sw: Any, served: Any, cli: Any) -> None:  # noqa: F811
    rng, client, server = served
    _send(client, _world(rng, 100))
    server.log.flush()
    with pytest.raises(InvalidArgument, match="no column 'nope'"):
        sw.monitor("live", label="nope")
    with pytest.raises(InvalidArgument, match="unknown window"):
        sw.monitor("live", window="week")
    sw.deploy("bare", model="churn", version=1)
    assert sw.monitor("bare") == [], "no traffic yet: no window"
    assert "2 window(s)" in cli("monitor", "run", "live", "--window", "50", "--label", "churned")
    import json

    reports = json.loads(
        cli("monitor", "run", "live", "--window", "50", "--label", "churned", "--json")
    )
    assert [r["rows"] for r in reports] == [50, 50] and reports[0]["estimated"]["accuracy"][
        "value"
    ] > 0.5
    out = cli("monitor", "run", "nope", code=1)
    assert "no deployment 'nope'" in out and "Traceback" not in out
