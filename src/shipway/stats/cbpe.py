"""Confidence-based performance estimation (CBPE): a classifier's performance without labels.

Fit on reference data whose labels are known: the scores are calibrated with isotonic
regression, kept only when it lowers the expected calibration error. On a window without
labels, each calibrated score is the chance that its row is positive, so summing them gives
the *expected* confusion matrix, and from it the expected accuracy, precision, recall, F1 and
(from the expected ROC curve) ROC AUC. The band is three standard errors, measured as the
spread of the realised metric over reference chunks and scaled to the window's size.

Follows the scikit-learn estimator contract: hyperparameters stored verbatim, ``fit``
returns ``self``, learned state in ``*_`` attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipway.errors import InvalidArgument
from shipway.stats.performance import classification_metrics

METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
_trapezoid = np.trapezoid


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Sum over ten score bins of |mean label - mean score|, weighted by the bin's share."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    # |mean(y) - mean(s)| * count / n is |sum(y) - sum(s)| / n, bin by bin
    gap = np.bincount(which, weights=labels, minlength=bins) - np.bincount(
        which, weights=scores, minlength=bins
    )
    return float(np.abs(gap).sum() / len(scores)) if len(scores) else 0.0


def expected_metrics(
    probabilities: np.ndarray, predicted: np.ndarray, scores: np.ndarray
) -> dict[str, float | None]:
    """The metrics of the expected confusion matrix (and expected ROC curve) of one window."""
    order = np.argsort(scores)
    return _expected_sorted(probabilities[order], predicted[order], scores[order])


def _expected_sorted(
    p: np.ndarray, predicted: np.ndarray, sorted_scores: np.ndarray
) -> dict[str, float | None]:
    """:func:`expected_metrics` on rows in ascending order of score."""
    yhat = (predicted == 1).astype(float)
    tp = float(p @ yhat)
    fp = float(yhat.sum()) - tp
    fn = float(p.sum()) - tp
    n = len(p)
    tn = n - tp - fp - fn
    out: dict[str, float | None] = {
        "accuracy": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
    }
    positives, negatives = tp + fn, n - tp - fn
    if n and positives > 0 and negatives > 0:
        # the ROC curve walks from the highest score down; tied scores move it in one step
        descending, p_down = sorted_scores[::-1], p[::-1]
        last_of_tie = np.r_[np.flatnonzero(np.diff(descending)), n - 1]
        caught = np.cumsum(p_down)[last_of_tie]
        tpr = np.r_[0.0, caught / positives]
        fpr = np.r_[0.0, (last_of_tie + 1 - caught) / negatives]
        out["roc_auc"] = float(_trapezoid(tpr, fpr))
    else:
        out["roc_auc"] = None
    return out


def chunk_count(rows: int, chunk_size: int) -> int:
    """How many reference chunks measure an estimate's sampling spread: chunks of
    ``chunk_size`` rows, or, for a reference smaller than two of them, up to ten chunks of at
    least 50 rows (at least two), so that every estimate has a band."""
    if rows // chunk_size >= 2:
        return rows // chunk_size
    return max(2, min(10, rows // 50))


class CBPE:
    """``CBPE(chunk_size=1000).fit(scores, labels, predicted)``, then ``estimate(scores, predicted)``."""

    def __init__(self, *, chunk_size: int = 1000, calibrate: str = "auto") -> None:
        self.chunk_size = chunk_size
        self.calibrate = calibrate

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"chunk_size": self.chunk_size, "calibrate": self.calibrate}

    def fit(self, scores: Any, labels: Any, predicted: Any) -> CBPE:
        s, y, yhat = (np.asarray(a, dtype=float) for a in (scores, labels, predicted))
        if not (len(s) == len(y) == len(yhat)) or len(s) < 2:
            raise InvalidArgument(
                "CBPE needs scores, labels and predictions of the same, non-trivial length"
            )
        if not np.isin(y, (0, 1)).all() or not np.isin(yhat, (0, 1)).all():
            raise InvalidArgument(
                "CBPE estimates binary classifiers: labels and predictions are 0 or 1"
            )
        if self.calibrate not in ("auto", "isotonic", "none"):
            raise InvalidArgument("calibrate is auto, isotonic or none")
        self.calibrator_ = None
        if self.calibrate != "none":
            from sklearn.isotonic import IsotonicRegression

            calibrator = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
            self.calibrator_ = calibrator
            better = expected_calibration_error(
                y, self.probabilities(s)
            ) < expected_calibration_error(y, s)
            if self.calibrate != "isotonic" and not better:
                self.calibrator_ = None
        chunks = chunk_count(len(s), self.chunk_size)
        realised = [
            classification_metrics(y[c], yhat[c], s[c])
            for c in np.array_split(np.arange(len(s)), chunks)
        ]
        self.reference_chunk_ = len(s) // chunks
        self.sampling_std_ = {
            m: float(np.std([r[m] for r in realised if r.get(m) is not None], ddof=1))
            if sum(r.get(m) is not None for r in realised) > 1
            else None
            for m in METRICS
        }
        self.reference_ = classification_metrics(y, yhat, s)
        return self

    def probabilities(self, scores: Any, *, ascending: bool = False) -> np.ndarray:
        """Each score's calibrated chance of being positive. The isotonic fit is piecewise
        linear, so this is one interpolation, much faster on scores already in order."""
        s = np.asarray(scores, dtype=float)
        if self.calibrator_ is None:
            return s
        x, y = self.calibrator_.X_thresholds_, self.calibrator_.y_thresholds_
        if ascending:
            return np.asarray(np.interp(s, x, y))
        order = np.argsort(s)
        out = np.empty_like(s)
        out[order] = np.interp(s[order], x, y)
        return out

    def estimate(self, scores: Any, predicted: Any) -> dict[str, dict[str, float | None]]:
        """Each metric's estimate for one window, with a band of three standard errors."""
        if not hasattr(self, "reference_"):
            raise InvalidArgument("fit CBPE on reference data before estimating")
        s, yhat = np.asarray(scores, dtype=float), np.asarray(predicted, dtype=float)
        order = np.argsort(s)
        s = s[order]
        values = _expected_sorted(self.probabilities(s, ascending=True), yhat[order], s)
        out: dict[str, dict[str, float | None]] = {}
        for metric, value in values.items():
            std = self.sampling_std_.get(metric)
            half = (
                3 * std * np.sqrt(self.reference_chunk_ / max(len(s), 1))
                if std is not None and value is not None
                else None
            )
            out[metric] = {
                "value": value,
                "lower": None if half is None or value is None else max(value - half, 0.0),
                "upper": None if half is None or value is None else min(value + half, 1.0),
            }
        return out
