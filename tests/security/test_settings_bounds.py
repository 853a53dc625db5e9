"""Settings take finite, bounded numbers and safe names only: NaN, infinity, 1e18 rows and
2**63 requests, and loop names that are paths, are each refused with one line that names
the key, whether they come from shipway.toml or from Python (issue 22, item 7)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from shipway.config import Settings
from shipway.errors import ConfigError, InvalidArgument
from tests.cli.conftest import cli as cli  # the fixture, here too

LOOP = """
[loops.{name}]
pipeline = "train.py:retrain"
triggers = ["{trigger}"]
gate = {{ metric = "accuracy", {gate} }}
rollout = {{ steps = [25, 100], {rollout} }}
"""


def _loop(name: str = "churn-live", **parts: str) -> str:
    values = {"trigger": "labels:500", "gate": "min = 0.8", "rollout": "min_requests = 5"}
    return LOOP.format(name=name, **(values | parts))


@pytest.mark.parametrize(
    ("config", "says"),
    [
        (_loop(gate="min = nan"), "gate.min is a finite number"),
        (_loop(gate="min = inf"), "gate.min is a finite number"),
        (_loop(gate="min = 0.8, max_drop = nan"), "gate.max_drop is a finite number"),
        (_loop(gate="min = 0.8, holdout_rows = 1000000000000000000"), "holdout_rows is"),
        (_loop(rollout="max_error_rate = nan"), "rollout.max_error_rate is a finite number"),
        (_loop(rollout="max_latency_ratio = nan"), "max_latency_ratio is a finite number"),
        (_loop(rollout="max_metric_drop = -inf"), "max_metric_drop is a finite number"),
        (_loop(rollout="min_minutes = nan"), "min_minutes is a finite number"),
        (_loop(rollout="max_wait_minutes = inf"), "max_wait_minutes is a finite number"),
        (_loop(rollout="latency_floor_ms = nan"), "latency_floor_ms is a finite number"),
        (_loop(rollout="max_prediction_drift = nan"), "max_prediction_drift is a finite"),
        (_loop(rollout="min_requests = 9223372036854775807"), "min_requests is a finite"),
        (_loop(rollout="min_requests = 2000000000"), "min_requests is at most"),
        (_loop(trigger="labels:100000000000000000000000"), "labels:N takes a whole number"),
        (_loop(trigger="labels:²"), "labels:N takes a whole number"),
        (_loop(name='""'), "deployment name must be a non-empty string"),
        (_loop(name='"a/../b"'), "has characters that are not allowed"),
        (_loop(name='"/etc"'), "has characters that are not allowed"),
    ],
)
def test_a_loop_with_an_unusable_number_or_name_stops_with_one_line(
    tmp_path: Path, cli: Any, config: str, says: str
) -> None:
    (tmp_path / "shipway.toml").write_text(config)
    out = cli("controller", "--once", code=2)
    assert says in out, out
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 2, out


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ("[monitoring]\ninterval_minutes = nan\n", "monitoring.interval_minutes"),
        ("[monitoring]\ninterval_minutes = inf\n", "monitoring.interval_minutes"),
        ("[serve]\npoll_seconds = nan\n", "serve.poll_seconds"),
        ("[serve]\nretention_days = 1e300\n", "serve.retention_days"),
        ("[tracking]\nflush_seconds = -inf\n", "tracking.flush_seconds"),
        ("[check]\nsample = 100000000000000000000\n", "check.sample"),
    ],
)
def test_a_setting_that_is_not_a_finite_bounded_number_is_refused(
    tmp_path: Path, config: str, key: str
) -> None:
    (tmp_path / "shipway.toml").write_text(config)
    with pytest.raises(ConfigError, match="finite number") as refused:
        Settings.resolve(environ={}, cwd=tmp_path)
    assert key in str(refused.value)


def test_nan_from_the_environment_and_from_python_is_refused_too(tmp_path: Path) -> None:
    from shipway.automation.gate import Gate
    from shipway.automation.loops import Rollout
    from shipway.automation.rounds import MonitoringRounds

    with pytest.raises(ConfigError, match="finite number"):
        Settings.resolve(environ={"SHIPWAY_FLUSH_SECONDS": "nan"}, cwd=tmp_path)
    with pytest.raises(InvalidArgument, match="gate.min is a finite number"):
        Gate("accuracy", min=float("nan"))
    with pytest.raises(InvalidArgument, match="max_latency_ratio"):
        Rollout(max_latency_ratio=float("nan"))
    with pytest.raises(InvalidArgument, match="monitoring interval is a finite number"):
        MonitoringRounds(
            SimpleNamespace(settings=Settings()),  # type: ignore[arg-type]
            interval_minutes=float("nan"),
        )
