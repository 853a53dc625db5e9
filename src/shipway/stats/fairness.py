"""Fairness of a binary classifier across the groups of a sensitive column.

Per group: rows, selection rate (share predicted positive), true-positive rate, false-positive
rate and accuracy. Across groups: the demographic-parity difference (largest gap in selection
rate) and the equalised-odds difference (the larger of the largest TPR gap and FPR gap).
Rows without a label count toward selection rate only.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _rate(hits: np.ndarray, of: np.ndarray) -> float | None:
    return float(hits[of].mean()) if of.any() else None


def fairness(
    groups: Any, predicted: Any, labels: Any = None, *, min_rows: int = 1
) -> dict[str, Any]:
    g = np.asarray(groups, dtype=object)
    p = np.asarray(predicted, dtype=float) == 1
    y = np.asarray(labels, dtype=float) if labels is not None else np.full(len(p), np.nan)
    known = ~np.isnan(y)
    positive, negative = known & (y == 1), known & (y == 0)
    per_group: dict[str, dict[str, Any]] = {}
    for group in sorted({str(v) for v in g}):
        mine = np.array([str(v) == group for v in g])
        if mine.sum() < min_rows:
            continue
        per_group[group] = {
            "rows": int(mine.sum()),
            "selection_rate": float(p[mine].mean()),
            "tpr": _rate(p, mine & positive),
            "fpr": _rate(p, mine & negative),
            "accuracy": _rate(p == (y == 1), mine & known),
        }
    return {
        "groups": per_group,
        "demographic_parity_difference": _gap(per_group, "selection_rate"),
        "equalised_odds_difference": _max(_gap(per_group, "tpr"), _gap(per_group, "fpr")),
    }


def _gap(groups: dict[str, dict[str, Any]], metric: str) -> float | None:
    values = [v[metric] for v in groups.values() if v[metric] is not None]
    return float(max(values) - min(values)) if len(values) > 1 else None


def _max(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None
