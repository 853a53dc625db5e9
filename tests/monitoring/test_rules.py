"""Alert rules: fire once, hold while breached, clear past the hysteresis margin."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config import Settings
from shipway.errors import InvalidArgument
from shipway.monitoring.rules import AlertRule, decide, rules_from_settings, value_of


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
    with pytest.raises(InvalidArgument, match="unknown alert rule field"):
        AlertRule.from_dict(
            {"name": "r", "metric": "m", "op": ">", "threshold": 1, "colour": "red"}
        )
    with pytest.raises(InvalidArgument, match="numeric threshold"):
        AlertRule.from_dict({"name": "r", "metric": "m", "op": ">", "threshold": "high"})
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
