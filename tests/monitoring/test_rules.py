"""Alert rules: fire once, hold while breached, clear past the hysteresis margin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.config import Settings
from shipway.errors import InvalidArgument
from shipway.monitoring.rules import AlertRule, decide, rules_from_settings, value_of
from tests.cli.conftest import cli  # noqa: F401 - the fixture


def _report(value: float, rows: int = 500) -> dict[str, object]:
    return {
        "rows": rows,
        "estimated": {"accuracy": {"value": value, "lower": 0, "upper": 1}},
        "data_drift": {"dataset_drift": True, "share_drifted": value},
    }


def test_fire_hold_clear_with_hysteresis() -> None:
    rule = AlertRule("accuracy drop", "estimated.accuracy", "<", 0.8)
    assert rule.clear_at == pytest.approx(0.88)
    assert decide(rule, _report(0.85), False) == ("quiet", 0.85)
    assert decide(rule, _report(0.75), False)[0] == "fire"
    assert decide(rule, _report(0.82), True)[0] == "hold", (
        "above the threshold but not past the margin"
    )
    assert decide(rule, _report(0.9), True)[0] == "clear"
    assert decide(rule, _report(0.5, rows=10), False)[0] == "quiet", "too few rows to judge"
    assert decide(rule, _report(0.5, rows=10), True)[0] == "hold"
    up = AlertRule("drift", "data_drift.share_drifted", ">=", 0.5, clear=0.2)
    assert (
        decide(up, _report(0.3), True)[0] == "hold" and decide(up, _report(0.1), True)[0] == "clear"
    )
    assert value_of({"data_drift": {"dataset_drift": True}}, "data_drift.dataset_drift") == 1.0
    assert value_of({}, "realised.accuracy") is None


def test_bad_rules_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="op is one of"):
        AlertRule("r", "m", "=>", 1)
    with pytest.raises(InvalidArgument, match="severity"):
        AlertRule("r", "m", ">", 1, severity="panic")
    with pytest.raises(InvalidArgument, match="unknown setting colour of alert rule"):
        AlertRule.from_dict(
            {"name": "r", "metric": "m", "op": ">", "threshold": 1, "colour": "red"}
        )
    with pytest.raises(InvalidArgument, match="threshold of alert rule 'r' is a number"):
        AlertRule.from_dict({"name": "r", "metric": "m", "op": ">", "threshold": "high"})
    with pytest.raises(InvalidArgument, match="numeric threshold"):
        AlertRule.from_dict({"name": "r", "metric": "m", "op": ">"})
    config = tmp_path / "shipway.toml"
    config.write_text(
        '[[alerts]]\nname = "drift"\nmetric = "data_drift.share_drifted"\nop = ">="\n'
        'threshold = 0.5\nsinks = ["log", "webhook:http://127.0.0.1:9/x"]\n'
    )
    (rule,) = rules_from_settings(Settings.resolve(environ={}, cwd=tmp_path))
    assert rule.sinks == ("log", "webhook:http://127.0.0.1:9/x") and rule.threshold == 0.5
    assert rules_from_settings(Settings()) == []


def test_the_email_sink_sends_one_mail_over_smtp() -> None:
    from aiosmtpd.controller import Controller

    from shipway.automation.sinks import send
    from shipway.config import SmtpSettings

    received = []

    class Inbox:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
            received.append(envelope)
            return "250 OK"

    from tests.client.conftest import free_port

    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        payload = {
            "text": "[critical] live: accuracy drop fired",
            "severity": "critical",
            "alert_id": 1,
        }
        send(
            "email:oncall@example.com",
            payload,
            SmtpSettings(host="127.0.0.1", port=port, from_address="shipway@example.com"),
        )
    finally:
        controller.stop()
    (mail,) = received
    assert mail.rcpt_tos == ["oncall@example.com"] and mail.mail_from == "shipway@example.com"
    assert b"Subject: [critical] live: accuracy drop fired" in mail.content
    with pytest.raises(ValueError, match="unknown alert sink"):
        send("pager:123", payload)


def test_a_round_reads_only_the_recent_hours_or_days() -> None:
    from shipway.automation.rounds import recent

    assert recent("hour", now=3 * 3600 + 100) == 2 * 3600, "the previous hour and this one"
    assert recent("day", now=3 * 86400 + 5) == 2 * 86400
    assert recent(500, now=10**9) is None, "windows of rows need the whole log"


def test_a_rule_may_name_its_own_window() -> None:
    hourly = AlertRule("r", "rows", ">", 1, window="hour")
    anywhere = AlertRule("r", "rows", ">", 1)
    assert hourly.judges("hour", default="day") and not hourly.judges("day", default="day")
    assert anywhere.judges("day", default="day") and not anywhere.judges("hour", default="day")
    assert AlertRule.from_dict(
        {"name": "r", "metric": "rows", "op": ">", "threshold": 1, "window": "500"}
    ).judges(500, "day")
    with pytest.raises(InvalidArgument, match="window is hour, day or a number of rows"):
        AlertRule("r", "rows", ">", 1, window="week")


def _numeric_leaves(data: object, prefix: str = "") -> list[str]:
    """The dotted paths of a report's numbers, the way a rule names them."""
    if isinstance(data, dict):
        if "value" in data and not isinstance(data["value"], dict):  # an estimate and its band
            return [prefix.rstrip(".")] if isinstance(data["value"], int | float) else []
        return [p for k, v in data.items() for p in _numeric_leaves(v, f"{prefix}{k}.")]
    if isinstance(data, int | float):  # booleans too: a rule reads True as 1.0
        return [prefix.rstrip(".")]
    return []


def _traffic(rng: np.random.Generator, n: int, task: str) -> pd.DataFrame:
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue", "green"], n)  # green: never seen in training
    label = (x > 0).astype(int) if task == "classification" else 2 * x + rng.normal(size=n)
    output = (x > 0.1).astype(int) if task == "classification" else 2 * x
    return pd.DataFrame(
        {
            "input.x": x,
            "input.colour": colour,
            "output": output,
            "label": np.where(rng.random(n) < 0.7, label, np.nan),
            "score": 1 / (1 + np.exp(-3 * x)) if task == "classification" else np.nan,
            "model_version": rng.choice([1, 2], n),
            "request_id": [f"r{i}" for i in range(n)],
            "timestamp": np.arange(n, dtype=float),
            "latency_ms": rng.random(n),
        }
    )


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_every_number_of_a_real_report_is_a_path_rules_accept(task: str) -> None:
    from shipway.monitoring.monitor import Monitor, Reference
    from shipway.monitoring.report_paths import is_known

    rng = np.random.default_rng(11)
    train = _traffic(rng, 2000, task)
    train["input.colour"] = rng.choice(["red", "blue"], 2000)
    inputs = train[["input.x", "input.colour"]].rename(columns=lambda c: c[6:])
    reference = Reference(
        inputs,
        train["output"],
        scores=train["score"] if task == "classification" else None,
        labels=train["label"].fillna(0),
        task=task,
    )
    monitor = Monitor(min_rows=10, sensitive=("colour",)).fit(reference)
    window = _traffic(rng, 600, task)
    window.loc[:5, "input.x"] = np.nan
    health = [{"errors": {"500": 2, "422": 1}, "errors_by_version": {"2": 2}, "dropped_rows": 3}]
    report = monitor.evaluate("w1", window, health=health).to_dict()
    leaves = _numeric_leaves(report)
    assert len(leaves) > 30 and any(p.startswith("extra.health.versions.") for p in leaves)
    if task == "classification":
        assert "extra.fairness.colour.groups.green.tpr" in leaves
        assert "estimated.accuracy" in leaves and "realised.roc_auc" in leaves
    else:
        assert "estimated.mae" in leaves and "realised.r2" in leaves
    unknown = [p for p in leaves if not is_known(p)]
    assert unknown == [], f"report paths missing from the rule catalog: {unknown}"
    for path in leaves:  # and every one of them can be read back by a rule
        assert value_of(report, path) is not None or report_path_is_none(report, path)


def report_path_is_none(report: dict[str, object], path: str) -> bool:
    found: object = report
    for part in path.split("."):
        assert isinstance(found, dict)
        found = found[part]
    return found is None or (isinstance(found, dict) and found.get("value") is None)


@pytest.mark.parametrize(
    ("metric", "meant"),
    [
        ("data_drift.share", "data_drift.share_drifted"),
        ("health.error_rate", "extra.health.error_rate"),
        ("estimated.acuracy", "estimated.accuracy"),
        ("data_drift.score.age", "data_drift.scores.age"),
        ("quality.mising.age", "quality.missing.age"),
    ],
)
def test_a_misspelt_metric_is_refused_with_the_nearest_path(metric: str, meant: str) -> None:
    with pytest.raises(
        InvalidArgument, match=f"rule 'r': metric '{metric}'.*did you mean '{meant}'"
    ):
        AlertRule("r", metric, ">", 1)


@pytest.mark.parametrize(
    ("sinks", "complaint"),
    [
        (["pager:1"], "unknown sink 'pager:1'"),
        (["slak:"], r"unknown sink 'slak:' \(did you mean 'slack'\?\)"),
        (["slack:"], "names no target"),
        (["webhook:ftp://x"], "http:// or https:// URL"),
        (["email:nobody"], "email needs an address"),
        (["log:loud"], "log takes no target"),
        ("log", "sinks is a list"),
    ],
)
def test_bad_sinks_are_refused_when_loaded(sinks: object, complaint: str) -> None:
    with pytest.raises(InvalidArgument, match=complaint):
        AlertRule.from_dict(
            {"name": "r", "metric": "rows", "op": ">", "threshold": 1, "sinks": sinks}
        )


def test_a_bad_rule_in_the_config_names_the_file_and_the_rule(tmp_path: Path, cli: Any) -> None:  # noqa: F811
    (tmp_path / "shipway.toml").write_text(
        '[[alerts]]\nname = "drift"\nmetric = "data_drift.share"\nop = ">="\nthreshold = 0.5\n'
    )
    with pytest.raises(InvalidArgument, match=r"\[\[alerts\]\] #1 in .*shipway.toml: rule 'drift'"):
        rules_from_settings(Settings.resolve(environ={}, cwd=tmp_path))
    output = cli("monitor", "run", code=2)
    assert "did you mean 'data_drift.share_drifted'" in output and "Traceback" not in output
