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


def test_before_min_requests_only_errors_that_doom_the_step_fail_it() -> None:
    traffic = _traffic([0] * 4, [0] * 40)
    rollout = Rollout(min_requests=200, max_error_rate=0.01)
    one = judge_step(rollout, traffic, {"2": 1}, stable=1, candidate=2, minutes=1)
    assert one.decision == "wait" and one.error_rate == 1 / 5  # 1 in 200 could still hold
    three = judge_step(rollout, traffic, {"2": 3}, stable=1, candidate=2, minutes=1)
    assert three.decision == "fail"  # 3 in 200 is over 1%, whatever comes next
    assert "error rate" in three.reasons[0]


def test_a_step_counts_the_errors_made_since_it_began_not_those_written_since() -> None:
    from shipway.automation.canary import errors_since

    began = 1_000.0
    records = [
        {"time": 990.0, "errors_by_version": {"2": 4}},  # written before the step: none count
        {  # written after it began, holding errors from before and after
            "time": 1_030.0,
            "errors_by_version": {"2": 6, "1": 1},
            "error_times_by_version": {"2": [975.0, 980.0, 995.0, 999.0, 1_010.0], "1": [985.0]},
        },
        {"time": 1_040.0, "errors_by_version": {"2": 2}},  # an older server: counted whole
    ]
    # of the six: four before the step, one after, and one whose time was not kept
    assert errors_since(records, began) == {"2": 1 + 1 + 2, "1": 0}


def test_a_step_that_can_still_pass_is_not_failed_early() -> None:
    traffic = _traffic([0] * 20, [0] * 40)
    rollout = Rollout(min_requests=100, max_error_rate=0.1)
    early = judge_step(rollout, traffic, {"2": 11}, stable=1, candidate=2, minutes=1)
    assert early.decision == "wait"  # 11 of 111 sent, once 100 are answered: 9.9%, under 10%
    doomed = judge_step(rollout, traffic, {"2": 12}, stable=1, candidate=2, minutes=1)
    assert doomed.decision == "fail"  # 12 of 112 is over 10% whatever comes next


def test_a_candidate_slower_on_every_request_fails_even_when_the_stables_p99_is_a_spike() -> None:
    rows = []
    for i in range(200):  # the stable: 5 ms, but a busy machine made its slowest 3% 150 ms
        rows.append(
            {
                "request_id": f"s{i}",
                "model_version": 1,
                "latency_ms": 150.0 if i % 33 == 0 else 5.0,
                "output": 0,
            }
        )
    for i in range(40):  # the candidate: 30 ms slower on every request
        rows.append({"request_id": f"c{i}", "model_version": 2, "latency_ms": 35.0, "output": 0})
    traffic = pd.DataFrame(rows)
    found = judge_step(Rollout(min_requests=10), traffic, {}, stable=1, candidate=2, minutes=1)
    assert found.latency_ratio is not None and found.latency_ratio < 1.5  # p99 alone: passes
    assert found.decision == "fail" and "latency p50 35.0 ms" in found.reasons[0]
    assert found.latency_p50_ms == {"candidate": 35.0, "stable": 5.0}


def test_before_labels_the_accuracy_estimated_from_calibrated_confidence_judges() -> None:
    """Issue 23: the canary compares the versions without labels (CBPE on the same traffic),
    and the labels confirm it as they come."""
    rng = np.random.default_rng(1)
    n = 200
    unsure = rng.uniform(0.4, 0.6, n)  # the candidate's scores: a coin toss on this traffic
    sure = np.where(rng.random(n) < 0.5, rng.uniform(0.0, 0.05, n), rng.uniform(0.95, 1.0, n))
    traffic = _traffic((unsure > 0.5).astype(int), (sure > 0.5).astype(int))
    traffic["score"] = np.concatenate([unsure, sure])
    honest = {"x": [0.0, 1.0], "y": [0.0, 1.0]}  # scores that are their own chances
    curves = {"candidate": honest, "champion": honest}
    rollout = Rollout(min_requests=10, max_metric_drop=0.02)

    def judged(frame: Any) -> Any:
        return judge_step(
            rollout,
            frame,
            {},
            stable=1,
            candidate=2,
            minutes=1,
            metric="accuracy",
            calibration=curves,
        )

    before = judged(traffic)
    assert before.decision == "fail" and "estimated accuracy drops" in before.reasons[0]
    assert before.estimated["candidate"] < 0.6 < 0.95 < before.estimated["stable"]
    assert before.estimated["judges"] is True
    # the labels say the candidate is right every time: once there are enough, they judge
    labelled = traffic.assign(label=traffic["output"].astype(float))
    after = judged(labelled)
    assert after.decision == "advance" and after.estimated["judges"] is False
    assert "estimated accuracy" in after.summary()
    without = judge_step(rollout, traffic, {}, stable=1, candidate=2, minutes=1, metric="accuracy")
    assert without.decision == "advance" and without.estimated == {}, "no curves: no estimate"


def test_a_calibration_curve_stays_small_however_large_the_holdout() -> None:
    from shipway.automation.estimates import MAX_POINTS, calibration, estimate

    rng = np.random.default_rng(2)
    scores = rng.random(20_000)
    labels = (rng.random(20_000) < scores).astype(int)  # scores that are their own chances
    curve = calibration(scores, labels)
    assert curve is not None and 2 <= len(curve["x"]) <= MAX_POINTS
    rows = pd.DataFrame({"score": scores[:2000], "output": (scores[:2000] > 0.5).astype(int)})
    found = estimate(curve, rows)
    truth = float(((scores[:2000] > 0.5) == labels[:2000]).mean())
    assert found is not None and abs(found[0] - truth) < 0.03, (found, truth)
    assert calibration(scores, rng.choice(["a", "b"], 20_000)) is None, "labels are not 0 and 1"
