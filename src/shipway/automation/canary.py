"""The canary's judge: candidate against stable on the traffic since a step began.

Both versions answer the same stream at the same moment, so whatever the traffic does
(a storm, a sale) it does to both; what differs is the model. A step is judged on:

- error rate: the candidate's failed requests over all it was sent (``max_error_rate``),
  counted from when each failed; before ``min_requests`` only errors that already doom the
  step fail it (a first failure among five requests is not yet a 20% error rate);
- latency: the candidate's p99, or its median, over the stable's (``max_latency_ratio``),
  judged only when the two differ by more than ``latency_floor_ms`` (1.2 ms against 0.5 ms
  is noise, not a regression) and the candidate is slower throughout, not in a few requests
  (a one-sided Mann-Whitney test on per-request latencies, p < 0.001): a busy machine slows
  both, and its slowest moments make a small sample's p99;
- prediction drift between the two versions' outputs: always measured and shown, and a
  failure only with ``max_prediction_drift`` (a retrained model is meant to answer
  differently): the distance above which it fails, or for a p-value test (classes) the
  p-value below which it fails;
- the gate's metric, once labels have arrived for both (``max_metric_drop``, or rise for
  errors); before that, for a binary classifier judged on accuracy, each version's accuracy
  estimated without labels from its calibrated confidence on the same traffic (see
  :mod:`shipway.automation.estimates`), with the same limit and confidence.

Pure: the controller reads the log and hands the rows here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shipway.automation.estimates import estimate

if TYPE_CHECKING:
    from shipway.automation.loops import Rollout

MIN_LABELLED = 30  # fewer labelled rows per version say too little to judge the metric
LATENCY_PVALUE = 0.001  # how sure "the candidate is slower on every request" must be


@dataclass
class Evidence:
    decision: str  # advance, wait or fail
    requests: dict[str, int] = field(default_factory=dict)  # "candidate"/"stable" -> answered
    errors: dict[str, int] = field(default_factory=dict)
    error_rate: float | None = None
    latency_p99_ms: dict[str, float] = field(default_factory=dict)
    latency_p50_ms: dict[str, float] = field(default_factory=dict)
    latency_ratio: float | None = None
    latency_pvalue: float | None = None  # Mann-Whitney: is the candidate slower throughout?
    prediction_drift: dict[str, Any] = field(default_factory=dict)
    metric: dict[str, Any] = field(default_factory=dict)
    estimated: dict[str, Any] = field(default_factory=dict)  # accuracy without labels (CBPE)
    reasons: list[str] = field(default_factory=list)  # why it failed, or why it waits

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """The evidence in a line: 212 requests, error rate 0.0%, latency p99 ×1.04, …"""
        parts = [f"{self.requests.get('candidate', 0)} requests"]
        if self.error_rate is not None:
            parts.append(f"error rate {self.error_rate:.1%}")
        if self.latency_ratio is not None:
            parts.append(f"latency p99 ×{self.latency_ratio:.2f}")
        metric = self.metric
        if metric.get("candidate") is not None and metric.get("stable") is not None:
            parts.append(f"{metric['name']} {metric['candidate']:.3f} vs {metric['stable']:.3f}")
        guess = self.estimated
        if guess.get("candidate") is not None and guess.get("stable") is not None:
            parts.append(f"estimated accuracy {guess['candidate']:.3f} vs {guess['stable']:.3f}")
        return ", ".join(parts)


def _requests(rows: Any) -> int:
    return int(rows["request_id"].nunique()) if len(rows) else 0


def _per_request(rows: Any) -> Any:
    return rows.groupby("request_id")["latency_ms"].max().to_numpy(dtype=float)


def _quantile(rows: Any, q: float) -> float | None:
    if not len(rows):
        return None
    import numpy as np

    return float(np.quantile(_per_request(rows), q))


def judge_step(
    rollout: Rollout,
    traffic: Any,
    errors: dict[str, int],
    *,
    stable: int,
    candidate: int,
    minutes: float,
    metric: str | None = None,
    lower_is_better: bool = False,
    calibration: dict[str, Any] | None = None,
) -> Evidence:
    """Judge one step from ``traffic`` (the logged rows since it began, with ``label`` where
    known) and ``errors`` (failed requests by model version); ``calibration``: the gate's
    curves ("candidate", "champion") for an estimate of accuracy before labels arrive."""
    import pandas as pd

    frame = traffic if len(traffic) else pd.DataFrame(columns=["model_version", "request_id"])
    mine = frame[frame["model_version"] == candidate]
    theirs = frame[frame["model_version"] == stable]
    evidence = Evidence("advance")
    evidence.requests = {"candidate": _requests(mine), "stable": _requests(theirs)}
    evidence.errors = {
        "candidate": int(errors.get(str(candidate), 0)),
        "stable": int(errors.get(str(stable), 0)),
    }
    failures = _error_rate(rollout, evidence)
    # every measure is shown from the first request, but before min_requests only errors
    # that already doom the step fail it: a few requests' latency or drift is noise
    measured = _latency(rollout, mine, theirs, evidence)
    if len(mine) and len(theirs) and "output" in frame:
        measured += _drift(rollout, mine["output"], theirs["output"], evidence)
    if metric is not None and "label" in frame:
        measured += _metric(rollout, mine, theirs, metric, lower_is_better, evidence)
    if metric == "accuracy" and calibration:
        labelled = evidence.metric.get("labelled", {})
        judged = min(labelled.get("candidate", 0), labelled.get("stable", 0)) >= MIN_LABELLED
        measured += _estimated(rollout, mine, theirs, calibration, evidence, judged)
    if evidence.requests["candidate"] >= rollout.min_requests:
        failures += measured
    if failures:
        evidence.decision = "fail"
        evidence.reasons = failures
        return evidence
    waiting = []
    if evidence.requests["candidate"] < rollout.min_requests:
        waiting.append(
            f"{evidence.requests['candidate']} of {rollout.min_requests} requests on the candidate"
        )
    if minutes < rollout.min_minutes:
        waiting.append(f"{minutes:.1f} of {rollout.min_minutes:g} minutes")
    if waiting:
        evidence.decision = "wait"
        evidence.reasons = waiting
    return evidence


def _error_rate(rollout: Rollout, evidence: Evidence) -> list[str]:
    sent = evidence.requests["candidate"] + evidence.errors["candidate"]
    if not sent:
        return []
    evidence.error_rate = evidence.errors["candidate"] / sent
    # Before min_requests a step fails only on errors that already doom it: its rate when
    # min_requests are answered, were every request still to come answered, is over the limit.
    failed = evidence.errors["candidate"]
    if failed / max(sent, rollout.min_requests + failed) <= rollout.max_error_rate:
        return []
    return [
        f"error rate {evidence.error_rate:.1%} on {sent} requests is over "
        f"{rollout.max_error_rate:.1%}"
    ]


def _latency(rollout: Rollout, mine: Any, theirs: Any, evidence: Evidence) -> list[str]:
    a, b = _quantile(mine, 0.99), _quantile(theirs, 0.99)
    if a is None or b is None:
        return []
    evidence.latency_p99_ms = {"candidate": round(a, 3), "stable": round(b, 3)}
    evidence.latency_ratio = a / b if b > 0 else None
    # The p99 of a few dozen requests is their slowest one, which a busy moment gives either
    # version; a model slower on every request moves the median as much. Either counts.
    m, n = _quantile(mine, 0.5) or 0.0, _quantile(theirs, 0.5) or 0.0
    evidence.latency_p50_ms = {"candidate": round(m, 3), "stable": round(n, 3)}
    over = [
        (name, x, y)
        for name, x, y in (("p99", a, b), ("p50", m, n))
        if x - y > rollout.latency_floor_ms and (y <= 0 or x / y > rollout.max_latency_ratio)
    ]
    if not over:
        return []
    # A p99 of a hundred requests is one slow request: a busy machine makes either version's.
    # Both answered the same moments, so a slower model shows in every request, not a few.
    from scipy.stats import mannwhitneyu

    slower = mannwhitneyu(_per_request(mine), _per_request(theirs), alternative="greater")
    evidence.latency_pvalue = float(slower.pvalue)
    if slower.pvalue >= LATENCY_PVALUE:
        return []
    name, x, y = over[0]
    return [
        f"latency {name} {x:.1f} ms is over {rollout.max_latency_ratio:g}× the stable "
        f"version's {y:.1f} ms (slower throughout: p={slower.pvalue:.2g})"
    ]


def _drift(rollout: Rollout, mine: Any, theirs: Any, evidence: Evidence) -> list[str]:
    import pandas as pd

    from shipway.stats.drift import detect_drift

    found = detect_drift(
        pd.DataFrame({"output": theirs.to_numpy()}), pd.DataFrame({"output": mine.to_numpy()})
    ).column("output")
    evidence.prediction_drift = {
        "method": found.method,
        "score": found.score,
        "drifted": found.drifted,
    }
    limit = rollout.max_prediction_drift
    if (
        limit is not None
        and found.score is not None
        and not found.is_pvalue
        and found.score > limit
    ):
        return [
            f"the candidate's predictions drift from the stable's ({found.method} {found.score:.3g} > {limit:g})"
        ]
    if limit is not None and found.is_pvalue and found.score is not None and found.score < limit:
        return [
            f"the candidate's predictions drift from the stable's ({found.method} p={found.score:.3g})"
        ]
    return []


def _estimated(
    rollout: Rollout,
    mine: Any,
    theirs: Any,
    calibration: dict[str, Any],
    evidence: Evidence,
    labels_judge: bool,
) -> list[str]:
    """Each version's accuracy estimated from its calibrated confidence; a failure when the
    candidate's is lower by more than ``max_metric_drop`` with 95% confidence, until the
    labels judge (``labels_judge``): then it is only shown."""

    a = estimate(calibration.get("candidate"), mine)
    b = estimate(calibration.get("champion"), theirs)
    if a is None or b is None:
        return []
    margin = CONFIDENCE_Z * math.sqrt(a[1] ** 2 + b[1] ** 2)
    evidence.estimated = {
        "candidate": round(a[0], 6),
        "stable": round(b[0], 6),
        "rows": {"candidate": a[2], "stable": b[2]},
        "margin": round(margin, 6),
        "judges": not labels_judge,
    }
    if labels_judge or min(a[2], b[2]) < MIN_LABELLED:
        return []
    if b[0] - a[0] - margin > rollout.max_metric_drop:
        return [
            f"estimated accuracy drops from the stable's {b[0]:.4g} to {a[0]:.4g} before labels "
            f"(more than {rollout.max_metric_drop:g}, with 95% confidence; from each version's "
            "calibrated confidence)"
        ]
    return []


def _per_row(metric: str, truth: Any, output: Any) -> Any:
    """What a row adds to a metric that is a mean over rows."""
    if metric == "accuracy":
        return (truth == output).astype(float)
    return abs(truth - output) if metric == "mae" else (truth - output) ** 2


PER_ROW = ("accuracy", "mae", "rmse")  # means over rows: their difference has a standard error
CONFIDENCE_Z = 1.645  # one-sided 95%: a drop must be beyond the limit, not a wobble of the sample
MIN_UNPAIRED = 200  # other metrics: the point estimate, on at least this many rows each


def _metric(
    rollout: Rollout, mine: Any, theirs: Any, metric: str, lower_is_better: bool, evidence: Evidence
) -> list[str]:
    """The gate's metric on each version's labelled rows; a failure only when the candidate
    is worse by more than ``max_metric_drop`` with 95% confidence (the two versions answered
    different requests, so a small sample differs by chance)."""
    import numpy as np

    a_rows, b_rows = (rows[rows["label"].notna()] for rows in (mine, theirs))
    a, b = _value(a_rows, metric), _value(b_rows, metric)
    evidence.metric = {
        "name": metric,
        "candidate": a,
        "stable": b,
        "labelled": {"candidate": len(a_rows), "stable": len(b_rows)},
    }
    if a is None or b is None or min(len(a_rows), len(b_rows)) < MIN_LABELLED:
        return []
    worse = a - b if lower_is_better else b - a  # how much worse the candidate is
    if metric in PER_ROW:
        x = _per_row(metric, *_truth_and_output(a_rows))
        y = _per_row(metric, *_truth_and_output(b_rows))
        error = float(np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y)))
        if metric == "rmse":  # judged on the mean squared error, then said as rmse
            worse = (x.mean() - y.mean()) / max(2 * np.sqrt(y.mean()), 1e-12)
            error /= max(2 * np.sqrt(y.mean()), 1e-12)
        evidence.metric["margin"] = round(CONFIDENCE_Z * error, 6)
        worse -= CONFIDENCE_Z * error
    elif min(len(a_rows), len(b_rows)) < MIN_UNPAIRED:
        return []
    if worse > rollout.max_metric_drop:
        direction = "rises" if lower_is_better else "drops"
        return [
            f"{metric} {direction} from the stable's {b:.4g} to {a:.4g} on labelled traffic "
            f"(more than {rollout.max_metric_drop:g}, with 95% confidence)"
        ]
    return []


def _truth_and_output(rows: Any) -> tuple[Any, Any]:
    import numpy as np

    truth, output = rows["label"].to_numpy(), rows["output"].to_numpy()
    try:
        return truth.astype(float), output.astype(float)
    except (TypeError, ValueError):  # class names: compared as text
        return np.asarray(truth, dtype=str), np.asarray(output, dtype=str)


def _value(rows: Any, metric: str) -> float | None:
    from shipway.stats.performance import classification_metrics, regression_metrics

    if not len(rows):
        return None
    truth, output = rows["label"].to_numpy(), rows["output"].to_numpy()
    if metric in ("mae", "rmse", "mape", "r2"):
        found = regression_metrics(truth, output)
    else:
        scores = rows["score"].to_numpy() if "score" in rows else None
        found = classification_metrics(truth, output, scores)
    got = found.get(metric)
    return None if got is None else float(got)


def errors_since(records: list[dict[str, Any]], since: float) -> dict[str, int]:
    """Failed requests by model version from ``since`` on, out of health records. A record
    holds the errors of the time before it was written, each with when it failed, so one
    written after ``since`` may hold older errors: those are left out. A record without the
    times (an older server, or more errors than it keeps times of) counts whole, which errs
    toward the candidate's failure."""
    errors: dict[str, int] = {}
    for record in records:
        if record.get("time", 0) < since:
            continue  # written before the step began: none of its errors are the step's
        times = record.get("error_times_by_version", {})
        for version, n in record.get("errors_by_version", {}).items():
            known = times.get(version, [])
            later = sum(1 for t in known if t >= since) + (int(n) - len(known))
            errors[version] = errors.get(version, 0) + later
    return errors
