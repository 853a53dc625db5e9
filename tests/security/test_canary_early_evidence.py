"""A canary step is not failed on latency or drift before ``min_requests``: a few requests
are noise, and only errors that already doom the step fail it that early (issue 22, item 8).
"""

from __future__ import annotations

import pandas as pd

from shipway.automation.canary import judge_step
from shipway.automation.loops import Rollout


def test_before_min_requests_a_slow_or_drifting_candidate_waits_and_is_shown() -> None:
    """Issue 22, item 8: 8 of 40 requests, all slower and all different, is not yet evidence."""
    rows = [
        {"request_id": f"s{i}", "model_version": 1, "latency_ms": 5.0, "output": 0}
        for i in range(200)
    ] + [
        {"request_id": f"c{i}", "model_version": 2, "latency_ms": 80.0, "output": 1}
        for i in range(8)
    ]
    traffic = pd.DataFrame(rows)
    limits = Rollout(min_requests=40, max_prediction_drift=0.1)
    early = judge_step(limits, traffic, {}, stable=1, candidate=2, minutes=1)
    assert early.decision == "wait" and early.reasons == ["8 of 40 requests on the candidate"]
    assert early.latency_p50_ms == {"candidate": 80.0, "stable": 5.0}, "shown all the same"
    more = pd.DataFrame(
        rows
        + [
            {"request_id": f"c{i}", "model_version": 2, "latency_ms": 80.0, "output": 1}
            for i in range(8, 40)
        ]
    )
    judged = judge_step(limits, more, {}, stable=1, candidate=2, minutes=1)
    assert judged.decision == "fail" and any("latency" in r for r in judged.reasons)
