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
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy 2 renamed it


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += abs(labels[inside].mean() - scores[inside].mean()) * inside.mean()
    return float(total)


def expected_metrics(
    probabilities: np.ndarray, predicted: np.ndarray, scores: np.ndarray
) -> dict[str, float | None]:
    """The metrics of the expected confusion matrix (and expected ROC curve) of one window."""
    p, yhat = probabilities, predicted == 1
    tp, fp = float(p[yhat].sum()), float((1 - p[yhat]).sum())
    fn, tn = float(p[~yhat].sum()), float((1 - p[~yhat]).sum())
    n = len(p)
    out: dict[str, float | None] = {
        "accuracy": (tp + tn) / n if n else None,
        "precision": tp / (tp + fp) if tp + fp else None,
        "recall": tp / (tp + fn) if tp + fn else None,
        "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
    }
    positives, negatives = p.sum(), (1 - p).sum()
    if n and positives > 0 and negatives > 0:
        order = np.argsort(-scores, kind="mergesort")
        sorted_scores = scores[order]
        last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), n - 1]
        tpr = np.r_[0.0, np.cumsum(p[order])[last_of_tie] / positives]
        fpr = np.r_[0.0, np.cumsum(1 - p[order])[last_of_tie] / negatives]
        out["roc_auc"] = float(_trapezoid(tpr, fpr))
    else:
        out["roc_auc"] = None
    return out


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
            better = expected_calibration_error(
                y, calibrator.predict(s)
            ) < expected_calibration_error(y, s)
            if self.calibrate == "isotonic" or better:
                self.calibrator_ = calibrator
        chunks = max(len(s) // self.chunk_size, 1)
        realised = [classification_metrics(y[c], yhat[c], s[c])
                    for c in np.array_split(np.arange(len(s)), chunks)]  # fmt: skip
        self.reference_chunk_ = len(s) // chunks
        self.sampling_std_ = {
            m: float(np.std([r[m] for r in realised if r.get(m) is not None], ddof=1))
            if sum(r.get(m) is not None for r in realised) > 1 else None
            for m in METRICS
        }  # fmt: skip
        self.reference_ = classification_metrics(y, yhat, s)
        return self

    def probabilities(self, scores: Any) -> np.ndarray:
        s = np.asarray(scores, dtype=float)
        return (
            s if self.calibrator_ is None else np.asarray(self.calibrator_.predict(s), dtype=float)
        )

    def estimate(self, scores: Any, predicted: Any) -> dict[str, dict[str, float | None]]:
        """Each metric's estimate for one window, with a band of three standard errors."""
        if not hasattr(self, "reference_"):
            raise InvalidArgument("fit CBPE on reference data before estimating")
        s, yhat = np.asarray(scores, dtype=float), np.asarray(predicted, dtype=float)
        values = expected_metrics(self.probabilities(s), yhat, s)
        out: dict[str, dict[str, float | None]] = {}
        for metric, value in values.items():
            std = self.sampling_std_.get(metric)
            half = (
                3 * std * np.sqrt(self.reference_chunk_ / max(len(s), 1))
                if std is not None and value is not None
                else None
            )
            out[metric] = {"value": value, "lower": None if half is None else max(value - half, 0.0),  # type: ignore[operator]
                           "upper": None if half is None else min(value + half, 1.0)}  # type: ignore[operator]  # fmt: skip
        return out
