"""Monitors over served traffic: drift where the data moved, none where it did not, realised
performance from late labels, and CBPE's estimate beside it."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.config import Settings
from shipway.errors import InvalidArgument
from shipway.monitoring.alerts import summary
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
            client.post(
                "/v1/feedback",
                json={"request_id": answer.json()["request_id"], "label": int(row["churned"])},
            ) if rng.random() < 0.5 else None
    server.log.flush()
    reports = sw.monitor("live", window=400, label="churned", sensitive=["colour"])
    assert [r.rows for r in reports] == [400, 400]
    first, second = reports
    assert first.data_drift["drifted_columns"] == [] and not first.prediction_drift["drifted"]
    assert second.data_drift["drifted_columns"] == ["x"] and second.prediction_drift["drifted"]
    assert first.target_drift is not None and not first.target_drift["drifted"]
    assert second.target_drift["drifted"], "the shift raised the churn rate, and the labels show it"
    assert second.target_drift["rows"] == second.realised["rows"]
    for report in reports:
        assert 0.4 < report.label_coverage < 0.6
        assert report.realised["rows"] == round(report.label_coverage * 400)
        realised, estimated = report.realised["accuracy"], report.estimated["accuracy"]["value"]
        assert abs(realised - estimated) < 0.08, (realised, estimated)
    assert first.quality == {
        "missing": {},
        "out_of_range": {},
        "unseen_categories": {},
        "type_changed": {},
        "absent_columns": [],
    }
    groups = first.extra["fairness"]["colour"]["groups"]
    assert (
        set(groups) == {"red", "blue"}
        and groups["red"]["selection_rate"] > groups["blue"]["selection_rate"]
    )
    assert first.extra["fairness"]["colour"]["demographic_parity_difference"] > 0
    (health,) = first.extra["health"]["versions"].values()
    assert health["requests"] == 400 and health["latency_p99_ms"] >= health["latency_p50_ms"] > 0


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
    assert report.extra["source"] == "profile", "a day window reads the servers' profiles"
    (from_rows,) = sw.monitor("live", window="day", label="churned", source="rows")
    assert from_rows.extra["source"] == "rows" and from_rows.quality == report.quality
    assert from_rows.label_coverage == 1.0 and from_rows.realised == report.realised
    from shipway.monitoring import service

    with pytest.MonkeyPatch.context() as patch:  # a window whose profiles do not merge
        patch.setattr(service, "window_profiles", lambda *a, **k: {report.window: None})
        (fallback,) = sw.monitor("live", window="day", label="churned")
        assert fallback.extra["source"] == "rows" and fallback.quality == report.quality
        with pytest.raises(InvalidArgument, match="no usable traffic profile"):
            sw.monitor("live", window="day", source="profiles")
    with pytest.raises(InvalidArgument, match="unknown source"):
        sw.monitor("live", source="parquet")
    with pytest.raises(InvalidArgument, match="profiles cover hours"):
        sw.monitor("live", window=10, source="profiles")


def test_health_counts_errors_and_dropped_rows(
    sw: Any,
    served: Any,
    cli: Any,  # noqa: F811
    monkeypatch: Any,
) -> None:
    rng, client, server = served
    _send(client, _world(rng, 100))  # two requests, logged
    for _ in range(3):  # refused: a column is missing
        answer = client.post("/v1/models/live/predict", json={"records": [{"x": 1.0}]})
        assert answer.status_code == 400
    model = server.state.get("live").versions[1].model

    def broken(frame: Any) -> Any:
        raise RuntimeError("out of memory")

    with monkeypatch.context() as patch:  # the model itself fails once
        patch.setattr(model, "predict_prepared", broken)
        answer = client.post("/v1/models/live/predict", json=[{"x": 1.0, "colour": "red"}])
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "MODEL_FAILED"
    assert "version 1 failed: RuntimeError: out of memory" in answer.json()["error"]["message"]
    server.log.max_pending = 10  # the log cannot keep up: this request is answered, not logged
    assert (
        client.post(
            "/v1/models/live/predict",
            json={"records": _world(rng, 50)[["x", "colour"]].to_dict("records")},
        ).status_code
        == 200
    )
    server.log.max_pending = 200_000
    server.log.flush()
    server.log.write_health(force=True)
    rule = sw.AlertRule("errors", "extra.health.error_rate", ">", 0.2, min_rows=50)
    (report,) = sw.monitor("live", window="day", rules=[rule])
    health = report.extra["health"]
    assert health["errors"] == 4 and health["errors_by_status"] == {"400": 3, "500": 1}
    assert health["error_rate"] == pytest.approx(4 / 6) and health["server_errors"] == 1
    assert health["dropped_rows"] == 50
    version = health["versions"]["1"]
    assert version["requests"] == 3 and version["errors"] == 1, "the 400s never reached a version"
    (alert,) = sw.alerts(deployment="live")
    assert alert.rule == "errors" and alert.value == pytest.approx(4 / 6)
    (from_rows,) = sw.monitor("live", window=1000, source="rows", rules=[])
    assert from_rows.extra["health"] == health
    import json

    (listed,) = json.loads(cli("monitor", "run", "live", "--window", "day", "--json"))
    assert listed["extra"]["health"]["error_rate"] == pytest.approx(4 / 6)


def test_monitor_errors_and_the_command(sw: Any, served: Any, cli: Any, tmp_path: Any) -> None:  # noqa: F811
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
    report = tmp_path / "report.html"
    assert "2 window(s)" in cli(
        "monitor",
        "report",
        "live",
        "--out",
        str(report),
        "--window",
        "50",
        "--from",
        "2000-01-01",
        "--sensitive",
        "colour",
    )
    assert report.read_text().startswith("<!doctype html>") and "Fairness" in report.read_text()
    assert "0 window(s)" in cli(
        "monitor", "report", "live", "--out", str(report), "--to", "2000-01-01"
    )
    assert "cannot read the time" in cli(
        "monitor", "report", "live", "--out", str(report), "--from", "soon", code=2
    )
    out = cli("monitor", "run", "nope", code=2)
    assert "no deployment 'nope'" in out and "Traceback" not in out
    with sw.start_run(experiment="churn"):  # held-out rows, logged: a reference by name
        sw.log_dataset("churn-holdout", _world(rng, 1000))
    held = json.loads(
        cli(
            "monitor",
            "run",
            "live",
            "--window",
            "50",
            "--label",
            "churned",
            "--reference",
            "churn-holdout@1",
            "--json",
        )
    )
    assert [r["rows"] for r in held] == [50, 50] and held[0]["estimated"] != reports[0]["estimated"]
    out = cli("monitor", "run", "live", "--reference", "nope@1", code=2)
    assert "nope" in out and "Traceback" not in out


def test_alerts_fire_once_resolve_and_act(sw: Any, served: Any, tmp_path: Any, cli: Any) -> None:  # noqa: F811
    import json

    rng, client, server = served
    sw.register_model(sw.get_model_version("churn", 1).source, "churn")  # version 2, the same model
    sw.deploy(
        "live", model="churn", version=2
    )  # so the rollback action has version 1 to go back to
    server.state.refresh()
    for shift in (0.0, 2.0, 2.0, 0.0):
        for _, row in _world(rng, 400, shift=shift).iterrows():
            client.post("/v1/models/live/predict", json=[{"x": row["x"], "colour": row["colour"]}])
    server.log.flush()
    delivered = tmp_path / "delivered.jsonl"
    rules = [
        sw.AlertRule(
            "inputs drifted",
            "data_drift.share_drifted",
            ">=",
            0.5,
            min_rows=100,
            severity="critical",
            sinks=(
                "log",
                f"command:sh -c 'cat >> {delivered}; echo >> {delivered}'",
                "webhook:http://127.0.0.1:9/unreachable",
            ),
        ),
        sw.AlertRule(
            "predictions moved",
            "prediction_drift.drifted",
            ">=",
            1,
            min_rows=100,
            action="rollback",
        ),
        sw.AlertRule(
            "daily drift", "data_drift.share_drifted", ">=", 0.5, min_rows=100, window="day"
        ),
    ]
    sw.monitor("live", window=400, rules=rules, replay=True)
    history = sw.alerts(deployment="live", include_resolved=True)
    assert "daily drift" not in {a.rule for a in history}, (
        "a daily rule does not judge 400-row windows"
    )
    drift = [a for a in history if a.rule == "inputs drifted"]
    assert len(drift) == 1, "it fired once and stayed open through the second drifted window"
    assert drift[0].status == "resolved" and drift[0].window.startswith("rows 800-1199 ("), (
        "its last breached window"
    )
    assert drift[0].window.endswith(" UTC)"), "placed in time: the next round counts from 0 again"
    assert drift[0].evidence["data_drift"]["drifted_columns"] == ["x"]
    assert drift[0].fired_window is not None and drift[0].fired_value is not None
    assert drift[0].fired_window.startswith("rows 400-799 ("), (
        "the window that fired it is kept apart from the latest"
    )
    (shown,) = [
        a
        for a in json.loads(cli("alerts", "list", "--all", "--json"))
        if a["rule"] == "inputs drifted"
    ]
    assert (shown["fired_window"], shown["window"]) == (drift[0].fired_window, drift[0].window)
    assert f"in window {drift[0].fired_window}; latest" in summary(drift[0])
    from shipway.monitoring.report_html import render

    page = render("live", [], drift)  # the report's alerts table: what fired, then the latest
    fired = f"{drift[0].fired_value:.4g} in {drift[0].fired_window}"
    assert html.escape(fired) in page and html.escape(drift[0].window) in page
    events = [json.loads(line) for line in delivered.read_text().splitlines() if line.strip()]
    assert [e["event"] for e in events] == ["fired", "resolved"] and "inputs drifted" in events[0][
        "text"
    ]
    assert "rollback" in [e.action for e in sw.session.current().deployments.history("live")]
    assert sw.get_deployment("live").stable == 1, (
        "the critical prediction drift rolled the deployment back"
    )
    sw.monitor("live", window=400, rules=rules)  # live: only the newest (calm) window is judged
    assert len(sw.alerts(deployment="live", include_resolved=True)) == len(history), (
        "nothing new fires"
    )
    open_alerts = sw.alerts(deployment="live")
    for alert in open_alerts:
        assert f"alert {alert.alert_id} acknowledged" in cli("alerts", "ack", str(alert.alert_id))
        assert f"alert {alert.alert_id} resolved" in cli("alerts", "resolve", str(alert.alert_id))
    assert "already resolved" in cli("alerts", "resolve", str(drift[0].alert_id), code=2)
    listed = json.loads(cli("alerts", "list", "--all", "--json"))
    assert "inputs drifted" in {a["rule"] for a in listed}
    assert json.loads(cli("alerts", "list", "--json")) == [], "none left open"
    assert "no alert 999" in cli("alerts", "ack", "999", code=2)


def test_monitor_run_replay_judges_every_window(
    sw: Any,
    served: Any,
    tmp_path: Any,
    cli: Any,  # noqa: F811
) -> None:
    import json

    rng, client, server = served
    for shift in (0.0, 2.0, 0.0):
        for start in range(0, 400, 50):
            rows = _world(rng, 400, shift=shift).iloc[start : start + 50]
            client.post("/v1/models/live/predict", json=rows[["x", "colour"]].to_dict("records"))
    server.log.flush()
    (tmp_path / "shipway.toml").write_text(
        '[[alerts]]\nname = "drift"\nmetric = "data_drift.share_drifted"\nop = ">="\n'
        "threshold = 0.5\nmin_rows = 100\n"
    )
    live = json.loads(cli("monitor", "run", "live", "--window", "400", "--json"))
    assert len(live) == 3 and sw.alerts(include_resolved=True) == [], "the newest window is calm"
    cli("monitor", "run", "live", "--window", "400", "--replay")
    (alert,) = sw.alerts(include_resolved=True)
    assert alert.status == "resolved" and alert.fired_window is not None, "fired and cleared"
    assert alert.fired_window.startswith("rows 400-799 (")


def _drifted_with_config(sw: Any, served: Any, tmp_path: Any, extra: str) -> Any:
    """300 drifted predictions, and settings whose shipway.toml labels them and alerts on drift."""
    from shipway.config import Settings

    rng, client, server = served
    for _, row in _world(rng, 300, shift=2.5).iterrows():
        client.post("/v1/models/live/predict", json=[{"x": row["x"], "colour": row["colour"]}])
    server.log.flush()
    (tmp_path / "shipway.toml").write_text(
        f'[monitoring]\n{extra}\nwindow = "day"\nlabels = {{live = "churned"}}\n\n'
        '[[alerts]]\nname = "drift"\nmetric = "data_drift.share_drifted"\nop = ">="\nthreshold = 0.5\n'
    )
    home = sw.session.current().settings.home
    return Settings.resolve({"home": home, "user": "ops"}, environ={}, cwd=tmp_path)


def _without_rounds(settings: Settings) -> Settings:
    """The settings ``shipway server --monitor-every 0`` hands its workers."""
    import dataclasses

    monitoring = dataclasses.replace(settings.monitoring, interval_minutes=0)
    return dataclasses.replace(settings, monitoring=monitoring)


def test_a_monitoring_round_judges_every_deployment_from_the_config(
    sw: Any, served: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from shipway.automation.rounds import MonitoringRounds
    from shipway.monitoring import service
    from shipway.server.app import create_app
    from shipway.session import Session

    settings = _drifted_with_config(sw, served, tmp_path, "interval_minutes = 0.5")
    sw.deploy("idle", model="churn", version=1)  # no traffic: skipped, not an error
    with (tmp_path / "shipway.toml").open("a") as config:  # a rule judged on windows of its own
        config.write(
            '\n[[alerts]]\nname = "drift per 150"\nmetric = "data_drift.share_drifted"\n'
            'op = ">="\nthreshold = 0.5\nwindow = "150"\n'
        )
    # shipway.toml is read once, when settings are resolved: read it again
    settings = Settings.resolve({"home": settings.home, "user": "ops"}, environ={}, cwd=tmp_path)
    tracking = Session(settings)
    try:
        scheduler = MonitoringRounds(tracking)
        assert scheduler.interval == 30
        daily, rows = sorted(scheduler.run_once(), key=lambda a: a.rule)
        assert (daily.deployment, daily.rule, daily.status) == ("live", "drift", "open")
        assert rows.rule == "drift per 150" and rows.window.startswith("rows 150-299 ("), (
            "its own windows"
        )
        assert daily.window != rows.window
        loaded: list[str] = []
        reference_for = service.reference_for
        monkeypatch.setattr(
            service, "reference_for", lambda *a, **k: loaded.append(a[1]) or reference_for(*a, **k)
        )
        assert scheduler.run_once() == [], "the next round holds the open alert"
        assert scheduler.rounds == 2
        assert loaded == [], "each reference was loaded and fitted once, in the first round"
        # Two workers over one store: only the lease holder runs the scheduled rounds.
        other = MonitoringRounds(tracking)
        assert scheduler.scheduled_round() == [] and other.scheduled_round() is None
        assert (scheduler.rounds, other.rounds, other.skipped) == (3, 0, 1)
        scheduler.stop()  # a clean shutdown hands the rounds on at once
        assert other.scheduled_round() == [] and other.rounds == 1
    finally:
        tracking.close()
    app = create_app(_without_rounds(settings))
    assert app.state.monitoring.interval == 0, "--monitor-every 0 turns the rounds off"
    from shipway import session as context

    previous, context._current = context._current, context.Session(settings)
    try:  # sw.monitor takes the label column from [monitoring] too
        (window,) = sw.monitor("live", window="day", rules=[])
        assert window.estimated is not None, "CBPE needs the label column: it came from the config"
    finally:
        context._current.close()
        context._current = previous


def test_a_regressor_gets_realised_and_estimated_error(sw: Any, serve: Any) -> None:  # noqa: F811
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(11)
    train = pd.DataFrame({"x": rng.normal(size=2000)})
    train["y"] = 2 * train["x"] + rng.normal(0, 0.5, 2000)
    model = LinearRegression().fit(train[["x"]], train["y"])
    with sw.start_run(experiment="reg") as run:
        sw.log_dataset("reg-train", train, role="train")
        run.log_model(model, "model", input_example=train[["x"]].head())
    sw.register_model(run, "reg")
    sw.deploy("reg-live", model="reg", version=1)
    client, server = serve("reg-live")
    live = pd.DataFrame({"x": rng.normal(size=300)})
    answer = client.post(
        "/v1/models/reg-live/predict", json={"records": live.to_dict("records")}
    ).json()
    truth = 2 * live["x"] + rng.normal(0, 0.5, 300)
    sw.log_ground_truth(
        "reg-live",
        [
            {"request_id": answer["request_id"], "row": i, "label": float(v)}
            for i, v in enumerate(truth)
        ],
    )
    server.log.flush()
    (report,) = sw.monitor("reg-live", label="y")
    assert report.realised["rows"] == 300 and 0.3 < report.realised["mae"] < 0.5
    assert abs(report.estimated["mae"]["value"] - report.realised["mae"]) < 0.06
    assert "score" not in sw.read_predictions("reg-live").columns, "a regressor has no confidence"


def test_the_server_serves_windows_reports_and_alerts(sw: Any, served: Any, tmp_path: Any) -> None:
    from starlette.testclient import TestClient

    from shipway.server.app import create_app

    settings = _drifted_with_config(
        sw, served, tmp_path, 'base_url = "https://shipway.example.com/"'
    )
    app = create_app(_without_rounds(settings))
    with TestClient(app) as api:
        (window,) = api.get("/api/v1/monitoring/live/windows", params={"window": "day"}).json()
        assert window["data_drift"]["drifted_columns"] == ["x"] and window["rows"] == 300
        assert window["estimated"]["accuracy"]["value"] > 0.5, (
            "the label column came from the config"
        )
        page = api.get("/api/v1/monitoring/live/report")
        assert page.status_code == 200 and page.text.startswith("<!doctype html>")
        for params, status, says in (
            ({"window": "week"}, 400, "unknown window"),
            ({"from": "soon"}, 400, "cannot read the time"),
            ({"to": "inf"}, 400, "cannot read the time"),
            ({"source": "parquet"}, 400, "unknown source"),
        ):
            answer = api.get("/api/v1/monitoring/live/windows", params=params)
            assert answer.status_code == status and says in answer.json()["error"]["message"]
        assert api.get("/api/v1/monitoring/nope/windows").status_code == 404

        (alert,) = app.state.monitoring.run_once()
        link = alert.evidence["report"]
        assert link.startswith(
            "https://shipway.example.com/api/v1/monitoring/live/report?window=day&from="
        )
        assert "shipway monitor report live --window day" in alert.evidence["report_command"]
        from shipway.monitoring.alerts import payload

        assert payload("fired", alert)["text"].endswith(f"(report: {link})"), "one click from chat"
        linked = api.get(link.removeprefix("https://shipway.example.com"))
        assert linked.status_code == 200 and "drift" in linked.text, "the link opens the report"
        assert [a["alert_id"] for a in api.get("/api/v1/alerts").json()] == [alert.alert_id]
        acked = api.post(f"/api/v1/alerts/{alert.alert_id}/ack").json()
        assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "ops"
        assert api.post(f"/api/v1/alerts/{alert.alert_id}/resolve").json()["status"] == "resolved"
        again = api.post(f"/api/v1/alerts/{alert.alert_id}/resolve")
        assert again.status_code == 400 and "already resolved" in again.json()["error"]["message"]
        assert (
            api.get("/api/v1/alerts").json() == []
            and len(api.get("/api/v1/alerts?all=true").json()) == 1
        )
        assert api.get("/api/v1/alerts/999").status_code == 404
    from shipway.server.routes.monitoring import _finite

    assert _finite({"a": [float("nan"), 1.5], "b": float("inf")}) == {"a": [None, 1.5], "b": None}


def test_labelled_traffic_is_what_retraining_learns_from(sw: Any, served: Any) -> None:
    from shipway.errors import NotFound

    rng, client, server = served
    frame = _world(rng, 60)
    for i, (_, row) in enumerate(frame.iterrows()):
        answer = client.post(
            "/v1/models/live/predict", json=[{"x": row["x"], "colour": row["colour"]}]
        )
        if i % 2 == 0:  # half the labels have arrived
            client.post(
                "/v1/feedback",
                json={"request_id": answer.json()["request_id"], "label": int(row["churned"])},
            )
    server.log.flush()
    every = sw.labelled_traffic("live")
    assert len(every) == 30 and list(every.columns) == [
        "x",
        "colour",
        "label",
        "timestamp",
        "model_version",
        "output",
    ]
    assert every["timestamp"].is_monotonic_increasing, "oldest first"
    assert list(every["x"]) == list(frame["x"].iloc[::2]) and list(every["label"]) == list(
        frame["churned"].iloc[::2]
    )
    newest = sw.labelled_traffic("live", last_rows=5)
    assert newest.equals(every.tail(5).reset_index(drop=True))
    with pytest.raises(InvalidArgument, match="last_rows"):
        sw.labelled_traffic("live", last_rows=0)
    with pytest.raises(NotFound):
        sw.labelled_traffic("nowhere")


def test_labelled_traffic_refuses_a_time_that_is_not_a_number(sw: Any) -> None:
    from shipway.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="start is a time in epoch seconds, not 'yesterday'"):
        sw.labelled_traffic("churn-live", start="yesterday")
    with pytest.raises(InvalidArgument, match="last_rows is a positive number of rows"):
        sw.labelled_traffic("churn-live", last_rows=2.5)
