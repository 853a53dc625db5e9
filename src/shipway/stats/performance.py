"""Model performance from labels: classification metrics by scikit-learn, ROC AUC and
regression metrics in numpy.

Classification takes the true labels, the predicted labels (numbers, booleans or text, any
number of classes) and, for a binary classifier's ROC AUC and log loss, the predicted
probability of the positive class. Every function ignores rows
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
    """Accuracy, precision, recall and F1 by scikit-learn, with the averaging named in
    ``average``: ``binary`` (of class 1) when labels and predictions are 0/1 (or true/false),
    else ``macro`` over the classes, with each class's figures in ``per_class``. With scores
    (the positive class's probability) a binary classifier also gets ROC AUC and log loss."""
    y, p = _labels(labels), _labels(predicted)
    keep = ~(_missing(y) | _missing(p))
    s = None
    if scores is not None:
        s = np.asarray(scores, dtype=float)
        keep &= np.isfinite(s)
        s = s[keep]
    y, p = y[keep], p[keep]
    n = len(y)
    out: dict[str, Any] = {"rows": n}
    if n == 0:
        return out | {"accuracy": None, "precision": None, "recall": None, "f1": None}
    binary = set(y) | set(p) <= {"0", "1"}
    from sklearn import metrics

    average = "binary" if binary else "macro"
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y, p, average=average, zero_division=np.nan, **({"pos_label": "1"} if binary else {})
    )
    out |= {
        "accuracy": float(metrics.accuracy_score(y, p)),
        "precision": _number(precision),
        "recall": _number(recall),
        "f1": _number(f1),
        "average": average,
    }
    if not binary:
        classes = sorted(set(y) | set(p))
        per = metrics.precision_recall_fscore_support(
            y, p, labels=classes, average=None, zero_division=np.nan
        )
        out["per_class"] = {
            c: {
                "precision": _number(per[0][i]),
                "recall": _number(per[1][i]),
                "f1": _number(per[2][i]),
                "support": int(per[3][i]),
            }
            for i, c in enumerate(classes)
        }
    elif s is not None:
        truth = (y == "1").astype(float)
        out["roc_auc"] = roc_auc(truth, s)
        clipped = np.clip(s, _EPS, 1 - _EPS)
        out["log_loss"] = float(
            -np.mean(truth * np.log(clipped) + (1 - truth) * np.log(1 - clipped))
        )
    return out


def _labels(values: Any) -> np.ndarray:
    """Labels as text, the same class written the same way whatever came in: ``1``, ``1.0``,
    ``"1"`` and ``True`` are all ``"1"``; missing values are None."""
    array = np.asarray(values)
    if array.dtype.kind in "biuf":  # numbers: one vectorised pass (CBPE calls this per chunk)
        numbers = array.astype(float).ravel()
        out = np.full(numbers.size, None, dtype=object)
        whole = np.isfinite(numbers) & (numbers == np.round(numbers))
        out[whole] = numbers[whole].astype(np.int64).astype(str)
        other = ~np.isnan(numbers) & ~whole
        out[other] = [repr(float(v)) for v in numbers[other]]
        return out

    def one(value: Any) -> str | None:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return None
        if isinstance(value, bool | np.bool_):
            return "1" if value else "0"
        if isinstance(value, int | float | np.integer | np.floating):
            number = float(value)
            return str(int(number)) if number.is_integer() else repr(number)
        text = str(value)
        lowered = text.strip().lower()
        if lowered in ("true", "false"):
            return "1" if lowered == "true" else "0"
        try:
            number = float(text)
        except ValueError:
            return text
        return str(int(number)) if number.is_integer() else text

    out = np.empty(array.size, dtype=object)
    out[:] = [one(v) for v in array.astype(object).ravel()]
    return out


def _missing(values: np.ndarray) -> np.ndarray:
    return np.array([v is None for v in values], dtype=bool)


def _number(value: Any) -> float | None:
    number = float(value)
    return None if np.isnan(number) else number


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
