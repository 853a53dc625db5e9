"""Proof on real data: a flight-delay model trained on January and February, then every month
of 2013 replayed through a model server, with labels arriving afterwards."""

from __future__ import annotations

import time
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


class _Clock:
    """The model server's wall clock, so that each replayed month is logged in its own hour."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.perf_counter = time.perf_counter

    def time(self) -> float:
        return self.now


def test_a_year_of_flights_through_the_monitors(
    sw: Any,
    serve: Any,  # noqa: F811
    flights: Any,
    monkeypatch: Any,
) -> None:
    winter = flights[flights["month"].isin([1, 2])].sample(frac=1, random_state=0)
    train, held = winter.iloc[:20_000], winter.iloc[20_000:]
    model = build_pipeline(0.1, 100).fit(train[FEATURES], train["delayed"])
    with sw.start_run(experiment="flights") as run:
        sw.log_dataset("flights-train", train[[*FEATURES, "delayed"]], role="train")
        run.log_model(model, "model", input_example=train[FEATURES].head())
    sw.register_model(run, "delay")
    sw.deploy("live", model="delay", version=1)
    client, server = serve("live")
    clock = _Clock(time.time() - 13 * 3600)
    monkeypatch.setattr("shipway.serving.predictor.time", clock)
    first_hour = clock.now + 3600
    labels = []
    for month in range(1, 13):  # the winter months replay held-out flights the model never saw
        clock.now += 3600
        pool = held if month <= 2 else flights[flights["month"] == month]
        rows = pool.sample(PER_MONTH, random_state=month)
        for start in range(0, PER_MONTH, 500):
            part = rows.iloc[start : start + 500]
            records = (
                part[FEATURES].astype(object).where(part[FEATURES].notna(), None).to_dict("records")
            )
            answer = client.post("/v1/models/live/predict", json={"records": records})
            assert answer.status_code == 200, answer.text
            labels += [
                {"request_id": answer.json()["request_id"], "row": i, "label": int(v)}
                for i, v in enumerate(part["delayed"])
            ]
    server.log.flush()
    sw.log_ground_truth("live", labels)  # late: after every prediction of the year
    rules = [
        sw.AlertRule(
            "accuracy drop", "realised.accuracy", "<", 0.72, min_rows=1000, sinks=("log",)
        ),
        sw.AlertRule("weather drift", "data_drift.share_drifted", ">=", 0.3, min_rows=1000),
    ]
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

    # The labels themselves move in the stormy months: more flights are late.
    winter_target = max(months[m].target_drift["score"] for m in (1, 2))
    assert not any(months[m].target_drift["drifted"] for m in (1, 2))
    assert min(months[m].target_drift["score"] for m in (6, 7)) > 3 * winter_target

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

    # Each month was logged in its own hour. Judged from the servers' hourly traffic profiles,
    # without reading a single logged input, the year tells the same story.
    from shipway.monitoring import traffic

    read = traffic.read_log
    asked: list[Any] = []
    monkeypatch.setattr(
        traffic, "read_log", lambda *a, **k: asked.append(k.get("columns")) or read(*a, **k)
    )
    hourly = sw.monitor("live", window="hour", label="delayed", reference=reference, rules=[])
    assert [r.rows for r in hourly] == [PER_MONTH] * 12
    assert all(r.extra["source"] == "profile" for r in hourly)
    assert all(c is not None and not any(n.startswith("input.") for n in c) for c in asked[1::2])
    by_hour = dict(enumerate(hourly, 1))
    assert (
        by_hour[1].data_drift["drifted_columns"] == by_hour[2].data_drift["drifted_columns"] == []
    )
    for month in (6, 7, 8):
        assert {"temp", "humid"} <= set(by_hour[month].data_drift["drifted_columns"]), month
    # Binned distances differ a little from exact ones: near the threshold a column may tip.
    differ = {
        m: set(by_hour[m].data_drift["drifted_columns"])
        ^ set(months[m].data_drift["drifted_columns"])
        for m in months
    }
    assert sum(not d for d in differ.values()) >= 9 and all(len(d) <= 1 for d in differ.values()), (
        differ
    )
    june = first_hour + 5 * 3600  # a range reads only its hours
    summer = sw.monitor(
        "live",
        window="hour",
        label="delayed",
        reference=reference,
        rules=[],
        start=june,
        end=june + 2 * 3600,
    )
    assert [r.window for r in summer] == [by_hour[6].window, by_hour[7].window]
    assert (
        summer[0].data_drift == by_hour[6].data_drift and summer[1].realised == by_hour[7].realised
    )
    for m in months:  # what needs each row is computed from the same rows either way
        assert by_hour[m].realised == months[m].realised
        assert by_hour[m].estimated == months[m].estimated
        assert by_hour[m].prediction_drift == months[m].prediction_drift
        assert by_hour[m].quality["missing"].keys() == months[m].quality["missing"].keys()
        for column, share in months[m].quality["missing"].items():
            assert by_hour[m].quality["missing"][column] == pytest.approx(share)

    # The same year as one page a person can read.
    from shipway.monitoring.report_html import render

    page = render("live", reports, alerts)
    assert page.count("<svg") >= 5 and "<script" not in page and "http" not in page
    assert "temp" in page and "accuracy estimated (CBPE)" in page and "weather drift" in page
