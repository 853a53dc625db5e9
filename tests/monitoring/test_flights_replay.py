"""Proof on real data: a flight-delay model trained on January and February, then every month
of 2013 replayed through a model server, with labels arriving afterwards."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from shipway.demo.data import CATEGORICAL, load_flights
from shipway.demo.run import build_pipeline
from tests.serving.conftest import serve  # noqa: F401 - the fixture

WEATHER = ["temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
FEATURES = ["hour", "sched_dep_time", "distance", *WEATHER, *CATEGORICAL]  # no month, no day
PER_MONTH = 1500


@pytest.fixture(scope="module")
def flights() -> Any:
    return load_flights()


def test_a_year_of_flights_through_the_monitors(sw: Any, serve: Any, flights: Any) -> None:  # noqa: F811
    winter = flights[flights["month"].isin([1, 2])].sample(frac=1, random_state=0)
    train, held = winter.iloc[:20_000], winter.iloc[20_000:]
    model = build_pipeline(0.1, 100).fit(train[FEATURES], train["delayed"])
    with sw.start_run(experiment="flights") as run:
        sw.log_dataset("flights-train", train[[*FEATURES, "delayed"]], role="train")
        run.log_model(model, "model", input_example=train[FEATURES].head())
    sw.register_model(run, "delay")
    sw.deploy("live", model="delay", version=1)
    client, server = serve("live")
    labels = []
    for month in range(1, 13):  # the winter months replay held-out flights the model never saw
        pool = held if month <= 2 else flights[flights["month"] == month]
        rows = pool.sample(PER_MONTH, random_state=month)
        for start in range(0, PER_MONTH, 500):
            part = rows.iloc[start : start + 500]
            records = (
                part[FEATURES].astype(object).where(part[FEATURES].notna(), None).to_dict("records")
            )
            answer = client.post("/v1/models/live/predict", json={"records": records})
            assert answer.status_code == 200, answer.text
            labels += [{"request_id": answer.json()["request_id"], "row": i, "label": int(v)}
                       for i, v in enumerate(part["delayed"])]  # fmt: skip
    server.log.flush()
    sw.log_ground_truth("live", labels)  # late: after every prediction of the year
    rules = [sw.AlertRule("accuracy drop", "realised.accuracy", "<", 0.72, min_rows=1000, sinks=("log",)),
             sw.AlertRule("weather drift", "data_drift.share_drifted", ">=", 0.3, min_rows=1000)]  # fmt: skip
    reference = held[[*FEATURES, "delayed"]].iloc[:3000]
    reports = sw.monitor(
        "live", window=PER_MONTH, label="delayed", reference=reference, rules=rules, replay=True
    )
    assert len(reports) == 12 and all(r.label_coverage == 1.0 for r in reports)
    months = dict(enumerate(reports, 1))

    # The training months raise nothing: no drift, no alert while they were judged.
    assert (
        months[1].data_drift["drifted_columns"] == []
        and months[2].data_drift["drifted_columns"] == []
    )
    alerts = sw.alerts(deployment="live", include_resolved=True)
    assert not [a for a in alerts if a.evidence["window"] in (months[1].window, months[2].window)]

    # Summer weather drifts, and the monitors say which columns.
    for month in (6, 7, 8):
        assert {"temp", "humid"} <= set(months[month].data_drift["drifted_columns"]), month
    drift_alerts = [a for a in alerts if a.rule == "weather drift"]
    first_drift = min(drift_alerts, key=lambda a: a.alert_id)
    assert first_drift.evidence["window"] == months[3].window, "from March on"

    # Summer storms cost accuracy, and the late labels show it in those months.
    winter_accuracy = np.mean([months[m].realised["accuracy"] for m in (1, 2)])
    for month in (6, 7):
        assert months[month].realised["accuracy"] < winter_accuracy - 0.05, month
    drops = [a for a in alerts if a.rule == "accuracy drop"]
    assert drops and min(drops, key=lambda a: a.alert_id).evidence["window"] == months[6].window

    # CBPE tracks the realised accuracy where the relation between features and delays holds.
    errors = {
        m: abs(r.estimated["accuracy"]["value"] - r.realised["accuracy"]) for m, r in months.items()
    }
    assert errors[1] < 0.03 and errors[2] < 0.03
    assert (
        np.mean(list(errors.values())) < 0.1
    )  # it cannot see summer's concept drift: see the README

    # The same year as one page a person can read.
    from shipway.monitoring.report_html import render

    page = render("live", reports, alerts)
    assert page.count("<svg") >= 5 and "<script" not in page and "http" not in page
    assert "temp" in page and "accuracy estimated (CBPE)" in page and "weather drift" in page
