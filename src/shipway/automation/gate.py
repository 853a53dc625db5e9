"""The gate: a candidate model against the champion, on the same rows neither trained on.

A gate names one metric and its thresholds. Value thresholds hold with or without a
champion (``min`` for metrics where higher is better, ``max`` for errors). Change thresholds
hold against the champion (``max_drop`` or ``min_gain``; ``max_rise`` for errors). With
``slices``, every group of that column must pass as well, so a model cannot buy its average
with one region. A gate with no threshold passes nothing: automation needs a stated bar.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from shipway.automation.estimates import calibration
from shipway.config import read_table
from shipway.errors import InvalidArgument

HIGHER_IS_BETTER = ("accuracy", "precision", "recall", "f1", "roc_auc", "r2")
LOWER_IS_BETTER = ("mae", "rmse", "mape", "log_loss")
METRICS = HIGHER_IS_BETTER + LOWER_IS_BETTER
MIN_SLICE_ROWS = 30  # a smaller group says too little to stop a model


MAX_HOLDOUT_ROWS = 10_000_000  # the newest labelled rows a gate holds out, at most


@dataclass(frozen=True)
class Gate:
    metric: str
    min: float | None = None
    max: float | None = None
    max_drop: float | None = None
    min_gain: float | None = None
    max_rise: float | None = None
    holdout: str | None = None  # a dataset NAME@VERSION; else the newest labelled traffic
    label: str | None = None  # a holdout dataset's label column (default: [monitoring] labels)
    holdout_rows: int = 1000
    slices: str | None = None  # a column whose every group must pass too
    refit: bool = False  # retrain on every row, the holdout too, once the gate has passed

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise InvalidArgument(f"gate metric {self.metric!r} is not one of {', '.join(METRICS)}")
        lower = self.metric in LOWER_IS_BETTER
        wrong = [
            name
            for name in (("min", "max_drop", "min_gain") if lower else ("max", "max_rise"))
            if getattr(self, name) is not None
        ]
        if wrong:
            fix = "max and max_rise" if lower else "min, max_drop and min_gain"
            direction = "lower" if lower else "higher"
            raise InvalidArgument(
                f"gate on {self.metric}: {', '.join(wrong)} does not apply, since {direction} "
                f"is better; use {fix}"
            )
        if not 1 <= self.holdout_rows <= MAX_HOLDOUT_ROWS:
            raise InvalidArgument(f"gate holdout_rows is from 1 to {MAX_HOLDOUT_ROWS:,}")
        for name in ("min", "max", "max_drop", "min_gain", "max_rise"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise InvalidArgument(f"gate {name} is a finite number, not {value!r}")
        if self.holdout is not None and "@" not in self.holdout:
            raise InvalidArgument(
                f"gate holdout {self.holdout!r} is not a dataset NAME@VERSION",
                hint="a fixed version, so both models are judged on the same rows",
            )

    @property
    def lower_is_better(self) -> bool:
        return self.metric in LOWER_IS_BETTER

    @property
    def has_threshold(self) -> bool:
        return any(
            getattr(self, n) is not None for n in ("min", "max", "max_drop", "min_gain", "max_rise")
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Gate:
        """A gate as shipway.toml writes it, checked where every table of it is."""
        if isinstance(data, dict) and "metric" not in data:
            raise InvalidArgument('a gate names its metric, e.g. metric = "accuracy"')
        return read_table(cls, data, "gate", error=InvalidArgument)


@dataclass
class Verdict:
    """What the gate found, stored with the candidate: both scores and the rows."""

    passed: bool
    metric: str
    candidate: float | None
    champion: float | None
    holdout: str
    rows: int
    reasons: list[str] = field(default_factory=list)  # why it failed; empty when it passed
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the candidate's gain over the champion row by row (accuracy, mae, rmse): its mean, its
    # standard error and their ratio z, both models having answered the same rows
    margin: dict[str, float] | None = None
    # for a binary classifier judged on accuracy: how each one's score maps to the chance of
    # a positive ("candidate", "champion"), so the canary can estimate before labels come
    calibration: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """Both scores and the rows, in a line: accuracy 0.81 against the champion's 0.74 …"""

        def shown(value: float | None) -> str:
            return "-" if value is None else f"{value:.4g}"

        text = f"{self.metric} {shown(self.candidate)}"
        if self.champion is not None:
            text += f" against the champion's {shown(self.champion)}"
        return f"{text} on {self.rows} rows ({self.holdout})"


PAIRED = ("accuracy", "mae", "rmse")  # means over rows: a gain row by row has an error


def score(model: Any, frame: Any, label: str, metric: str) -> float | None:
    """``metric`` of a loaded model on ``frame`` (its inputs and the ``label`` column)."""
    return _scored(model, frame, label, metric).value


class Scored(NamedTuple):
    value: float | None  # the metric
    answers: Any  # the model's answer to each row, for a paired comparison
    curve: dict[str, Any] | None  # its calibration, when asked for and it can be learnt


def _scored(model: Any, frame: Any, label: str, metric: str, *, with_curve: bool = False) -> Scored:
    """``metric`` on ``frame``, the model's answers, and (``with_curve``, for accuracy) how
    its score maps to the chance of a positive."""
    from shipway.stats.performance import classification_metrics, regression_metrics

    inputs = model.prepare(frame)
    predicted = model.predict_prepared(inputs)
    truth = frame[label].to_numpy()
    curve = None
    if with_curve and metric == "accuracy":
        curve = calibration(model.score_prepared(inputs), truth)
    if metric in ("mae", "rmse", "mape", "r2"):
        value = regression_metrics(truth, predicted).get(metric)
    else:
        scores = model.score_prepared(inputs) if metric in ("roc_auc", "log_loss") else None
        value = classification_metrics(truth, predicted, scores).get(metric)
    return Scored(None if value is None else float(value), predicted, curve)


def paired_margin(
    metric: str, truth: Any, candidate: Any, champion: Any
) -> dict[str, float] | None:
    """The candidate's gain over the champion on the same rows: the mean of the per-row
    gains (correct answers for accuracy, smaller errors for mae; for rmse, the squared
    errors' gain said in rmse by the delta method), its standard error, and z = gain / error.
    None for a metric that is not a mean over rows, or fewer than two rows."""
    import numpy as np

    if metric not in PAIRED or len(truth) < 2:
        return None
    truth, a, b = (np.asarray(v) for v in (truth, candidate, champion))
    if metric == "accuracy":
        gains = (a == truth).astype(float) - (b == truth).astype(float)
    else:
        try:
            t, x, y = truth.astype(float), a.astype(float), b.astype(float)
        except (TypeError, ValueError):
            return None
        gains = np.abs(t - y) - np.abs(t - x) if metric == "mae" else (t - y) ** 2 - (t - x) ** 2
    gain = float(gains.mean())
    error = float(gains.std(ddof=1) / np.sqrt(len(gains)))
    if metric == "rmse":
        scale = 2 * float(np.sqrt(np.mean((truth.astype(float) - b.astype(float)) ** 2)))
        gain, error = gain / max(scale, 1e-12), error / max(scale, 1e-12)
    z = gain / error if error > 0 else (math.inf if gain > 0 else 0.0)
    return {
        "gain": round(gain, 6),
        "stderr": round(error, 6),
        "z": round(z, 3) if math.isfinite(z) else 1e9,
    }


def _failures(gate: Gate, candidate: float | None, champion: float | None, where: str) -> list[str]:
    if candidate is None:
        return [f"{gate.metric} cannot be computed{where}"]
    reasons = []
    shown = f"{gate.metric} {candidate:.4g}{where}"
    if gate.min is not None and candidate < gate.min:
        reasons.append(f"{shown} is under the minimum {gate.min:g}")
    if gate.max is not None and candidate > gate.max:
        reasons.append(f"{shown} is over the maximum {gate.max:g}")
    if champion is not None:
        change = candidate - champion
        against = f"the champion's {champion:.4g}"
        if gate.max_drop is not None and -change > gate.max_drop:
            reasons.append(f"{shown} drops more than {gate.max_drop:g} from {against}")
        if gate.min_gain is not None and change < gate.min_gain:
            reasons.append(f"{shown} gains less than {gate.min_gain:g} over {against}")
        if gate.max_rise is not None and change > gate.max_rise:
            reasons.append(f"{shown} rises more than {gate.max_rise:g} over {against}")
    return reasons


def judge(
    gate: Gate,
    candidate: Any,
    champion: Any,
    holdout: Any,
    label: str,
    *,
    holdout_name: str = "holdout",
) -> Verdict:
    """Score both models on ``holdout`` and apply the gate (``champion`` None: no champion,
    so only value thresholds apply)."""
    if label not in holdout.columns:
        raise InvalidArgument(f"the holdout has no label column {label!r}")
    if not len(holdout):
        raise InvalidArgument("the holdout has no rows: the gate cannot judge")
    ours = _scored(candidate, holdout, label, gate.metric, with_curve=champion is not None)
    mine, theirs, margin, calibrations = ours.value, None, None, None
    if champion is not None:
        other = _scored(champion, holdout, label, gate.metric, with_curve=True)
        theirs = other.value
        truth = holdout[label].to_numpy()
        margin = paired_margin(gate.metric, truth, ours.answers, other.answers)
        if ours.curve is not None and other.curve is not None:
            calibrations = {"candidate": ours.curve, "champion": other.curve}
    reasons = [] if gate.has_threshold else ["the gate has no threshold: it passes nothing"]
    reasons += _failures(gate, mine, theirs, "")
    slices: dict[str, dict[str, Any]] = {}
    if gate.slices is not None:
        if gate.slices not in holdout.columns:
            raise InvalidArgument(f"the holdout has no slice column {gate.slices!r}")
        for value, rows in holdout.groupby(gate.slices, sort=True):
            if len(rows) < MIN_SLICE_ROWS:
                continue
            a = score(candidate, rows, label, gate.metric)
            b = score(champion, rows, label, gate.metric) if champion is not None else None
            found = _failures(gate, a, b, f" in {gate.slices}={value}")
            slices[str(value)] = {
                "candidate": a,
                "champion": b,
                "rows": len(rows),
                "passed": not found,
            }
            reasons += found
    return Verdict(
        not reasons,
        gate.metric,
        mine,
        theirs,
        holdout_name,
        len(holdout),
        reasons,
        slices,
        margin,
        calibrations,
    )
