"""Model performance from labels: classification and regression metrics in plain numpy.

Binary classification takes the true labels (0/1), the predicted labels and, for ROC AUC and
log loss, the predicted probability of the positive class. Every function ignores rows
whose label is missing and reports how many it used, because late labels arrive for only
part of a window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_EPS = float(np.finfo(float).eps)  # what scikit-learn clips probabilities to


def _clean(*arrays: Any) -> list[np.ndarray]:
    stacked = [np.asarray(a, dtype=float) for a in arrays]
    keep = np.ones(len(stacked[0]), dtype=bool)
    for a in stacked:
        keep &= np.isfinite(a)
    return [a[keep] for a in stacked]


def roc_auc(labels: Any, scores: Any) -> float | None:
    """The probability that a random positive scores above a random negative (ties count half)."""
    y, s = _clean(labels, scores)
    positives, negatives = int((y == 1).sum()), int((y == 0).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(s)  # not a stable sort: tied scores share their average rank below
    ranked, positive = s[order], y[order] == 1
    starts_tie = np.r_[True, ranked[1:] != ranked[:-1]]
    starts = np.flatnonzero(starts_tie)
    average_rank = (starts + np.r_[starts[1:], len(s)] + 1) / 2  # of the 1-based ranks in a tie
    rank_sum = float(average_rank[np.cumsum(starts_tie)[positive] - 1].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def classification_metrics(labels: Any, predicted: Any, scores: Any = None) -> dict[str, Any]:
    """Accuracy, precision, recall, F1 (of class 1), and with scores ROC AUC and log loss."""
    if scores is None:
        y, p = _clean(labels, predicted)
        s = None
    else:
        y, p, s = _clean(labels, predicted, scores)
    n = len(y)
    out: dict[str, Any] = {"rows": n}
    if n == 0:
        return out | {"accuracy": None, "precision": None, "recall": None, "f1": None}
    tp = float(((p == 1) & (y == 1)).sum())
    fp = float(((p == 1) & (y == 0)).sum())
    fn = float(((p == 0) & (y == 1)).sum())
    out["accuracy"] = float((p == y).mean())
    out["precision"] = tp / (tp + fp) if tp + fp else None
    out["recall"] = tp / (tp + fn) if tp + fn else None
    out["f1"] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    if s is not None:
        out["roc_auc"] = roc_auc(y, s)
        clipped = np.clip(s, _EPS, 1 - _EPS)
        out["log_loss"] = float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped)))
    return out


def regression_metrics(labels: Any, predicted: Any) -> dict[str, Any]:
    """MAE, RMSE, MAPE (over non-zero labels) and R²."""
    y, p = _clean(labels, predicted)
    n = len(y)
    if n == 0:
        return {"rows": 0, "mae": None, "rmse": None, "mape": None, "r2": None}
    error = p - y
    nonzero = y != 0
    variance = float(((y - y.mean()) ** 2).sum())
    return {
        "rows": n,
        "mae": float(np.abs(error).mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "mape": float(np.abs(error[nonzero] / y[nonzero]).mean()) if nonzero.any() else None,
        "r2": 1 - float((error**2).sum()) / variance if variance > 0 else None,
    }
