"""The canary's judge on rows made to order: what fails a step, what makes it wait."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipway.automation.canary import judge_step
from shipway.automation.loops import Rollout


def _traffic(candidate_outputs: Any, stable_outputs: Any, latency: float = 2.0) -> Any:
    rows = []
    for version, outputs in ((2, candidate_outputs), (1, stable_outputs)):
        for i, value in enumerate(outputs):
            rows.append(
                {
                    "request_id": f"{version}-{i}",
                    "model_version": version,
                    "latency_ms": latency,
                    "output": value,
                    "label": np.nan,
                }
            )
    return pd.DataFrame(rows)


def test_prediction_drift_between_the_versions_is_shown_and_fails_only_with_a_limit() -> None:
    rng = np.random.default_rng(0)
    traffic = _traffic(rng.normal(3, 1, 300), rng.normal(0, 1, 300))
    shown = judge_step(Rollout(min_requests=10), traffic, {}, stable=1, candidate=2, minutes=1)
    assert shown.decision == "advance" and shown.prediction_drift["drifted"]
    limited = Rollout(min_requests=10, max_prediction_drift=0.1)
    failed = judge_step(limited, traffic, {}, stable=1, candidate=2, minutes=1)
    assert failed.decision == "fail" and "predictions drift" in failed.reasons[0]


def test_a_step_waits_for_its_requests_and_its_minutes() -> None:
    traffic = _traffic([0] * 20, [0] * 20)
    rollout = Rollout(min_requests=50, min_minutes=10)
    waiting = judge_step(rollout, traffic, {}, stable=1, candidate=2, minutes=3)
    assert waiting.decision == "wait"
    assert waiting.reasons == ["20 of 50 requests on the candidate", "3.0 of 10 minutes"]


def test_failed_requests_count_against_the_candidate_only() -> None:
    traffic = _traffic([0] * 100, [0] * 100)
    stable_failing = judge_step(
        Rollout(min_requests=10), traffic, {"1": 50}, stable=1, candidate=2, minutes=1
    )
    assert stable_failing.decision == "advance"
    failing = judge_step(
        Rollout(min_requests=10), traffic, {"2": 5}, stable=1, candidate=2, minutes=1
    )
    assert failing.decision == "fail" and failing.error_rate == 5 / 105
