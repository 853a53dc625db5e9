"""A canary judged before its labels arrive: each version's accuracy estimated from its own
confidence on the same live traffic (confidence-based performance estimation, CBPE).

When the gate judges a binary classifier on accuracy, it also learns, for the candidate and
the champion, how each one's score maps to the chance that its row is positive (isotonic
regression on the holdout, whose labels are known). On the canary's traffic each row's
expected correctness is then that chance when the version said 1 and its complement when it
said 0; a version's estimate is their mean, and its standard error comes from each row being
right or wrong at that chance. Labels confirm it as they arrive: once both versions have
enough labelled rows, the labelled metric judges and the estimate is only shown.

An estimate sees a version that is confidently wrong where it was calibrated right, or one
whose confidence falls on the new traffic; it cannot see a change in what the labels mean
(concept drift), which only labels show.
"""

from __future__ import annotations

from typing import Any

ROUNDING = 5  # digits kept of the calibration curve: it is stored with the verdict
MAX_POINTS = 200  # and at most this many of its points, however large the holdout


def calibration(scores: Any, labels: Any) -> dict[str, list[float]] | None:
    """How a score maps to the chance of being positive, as the isotonic curve's points;
    None when the labels are not 0 and 1 or the scores are missing."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    if scores is None:
        return None
    try:
        s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    except (TypeError, ValueError):
        return None
    if s.ndim != 1 or len(s) < 30 or not np.isin(y, (0, 1)).all() or not np.isfinite(s).all():
        return None
    fitted = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(s, y)
    x, p = np.asarray(fitted.X_thresholds_), np.asarray(fitted.y_thresholds_)
    if len(x) > MAX_POINTS:  # evenly spaced points of the curve, both ends kept
        keep = np.unique(np.linspace(0, len(x) - 1, MAX_POINTS).round().astype(int))
        x, p = x[keep], p[keep]
    return {
        "x": [round(float(v), ROUNDING) for v in x],
        "y": [round(float(v), ROUNDING) for v in p],
    }


def expected_correct(curve: dict[str, list[float]], scores: Any, predicted: Any) -> Any:
    """Each row's chance of being right: its calibrated chance of being positive when it
    said 1, of being negative when it said 0 (None where a row has no score)."""
    import numpy as np

    s = np.asarray(scores, dtype=float)
    p = np.interp(s, curve["x"], curve["y"])
    said_one = np.asarray(predicted, dtype=float) == 1
    out = np.where(said_one, p, 1 - p)
    return out[np.isfinite(s)]


def estimate(curve: dict[str, list[float]] | None, rows: Any) -> tuple[float, float, int] | None:
    """A version's estimated accuracy on ``rows`` (logged ``score`` and ``output``), its
    standard error and the rows it rests on; None without a curve or scores."""
    import numpy as np

    if curve is None or not len(rows) or "score" not in rows or "output" not in rows:
        return None
    try:
        right = expected_correct(curve, rows["score"], rows["output"])
    except (TypeError, ValueError):
        return None
    if not len(right):
        return None
    error = float(np.sqrt(np.sum(right * (1 - right))) / len(right))
    return float(right.mean()), error, len(right)
