"""The numeric paths of a window report that an alert rule can watch.

A rule's ``metric`` is checked against this catalog when the rule is loaded, so a misspelt
path fails loudly instead of never firing. ``*`` stands for one name the data decides (a
column, a fairness group, a model version, an HTTP status). A test computes real reports and
checks that every numeric leaf they hold is in the catalog, so it cannot fall behind.
"""

from __future__ import annotations

import difflib

_CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss")
_REGRESSION = ("mae", "rmse", "mape", "r2")
_VERSION = (
    "errors",
    "error_rate",
    "requests",
    "rows",
    "requests_per_second",
    "latency_p50_ms",
    "latency_p99_ms",
)
_GROUP = ("rows", "selection_rate", "tpr", "fpr", "accuracy")

CATALOG: tuple[str, ...] = (
    "rows",
    "label_coverage",
    "data_drift.dataset_drift",
    "data_drift.share_drifted",
    "data_drift.scores.*",
    "data_drift.strengths.*",  # a score against its threshold: 1 at it, more past it
    "prediction_drift.drifted",
    "prediction_drift.score",
    "target_drift.drifted",
    "target_drift.score",
    "target_drift.rows",
    "quality.missing.*",
    "quality.out_of_range.*",
    "quality.unseen_categories.*",
    "quality.type_changed.*",
    "realised.rows",
    *(f"realised.{m}" for m in _CLASSIFICATION + _REGRESSION),
    *(f"realised.per_class.*.{m}" for m in ("precision", "recall", "f1", "support")),
    *(f"estimated.{m}" for m in _CLASSIFICATION[:5] + ("mae", "rmse")),
    *(
        f"extra.health.{m}"
        for m in (
            "requests",
            "errors",
            "error_rate",
            "server_errors",
            "dropped_rows",
            "unreadable_segments",
            "unreadable_rows",
            "unknown_labels",
        )
    ),
    "extra.health.errors_by_status.*",
    *(f"extra.health.versions.*.{m}" for m in _VERSION),
    "extra.fairness.*.demographic_parity_difference",
    "extra.fairness.*.equalised_odds_difference",
    *(f"extra.fairness.*.groups.*.{m}" for m in _GROUP),
)


def matches(path: str, pattern: str) -> bool:
    parts, wanted = path.split("."), pattern.split(".")
    return len(parts) == len(wanted) and all(
        w in ("*", p) for p, w in zip(parts, wanted, strict=True)
    )


def is_known(path: str) -> bool:
    """Whether ``path`` names a numeric value some window report can hold."""
    return any(matches(path, pattern) for pattern in CATALOG)


def nearest(path: str) -> str | None:
    """The catalog path a user most likely meant: one that ends with what they wrote (the
    ``extra.`` they left out), else the closest spelling."""
    for pattern in CATALOG:
        parts = pattern.split(".")
        for start in range(1, len(parts)):
            if matches(path, ".".join(parts[start:])):
                return _filled(path, ".".join(parts[:start]) + "." + ".".join(parts[start:]))
    # each pattern's ``*`` filled from the path, so data_drift.score.age is near
    # data_drift.scores.age; paths as deep as the one written first
    depth = path.count(".")
    same = [_filled(path, p) for p in CATALOG if p.count(".") == depth]
    for candidates in (same, [_filled(path, p) for p in CATALOG]):
        close = difflib.get_close_matches(path, candidates, n=1, cutoff=0.5)
        if close:
            return close[0]
    return None


def _filled(path: str, pattern: str) -> str:
    parts, wanted = path.split("."), pattern.split(".")
    offset = len(parts) - len(wanted)
    out = []
    for i, w in enumerate(wanted):
        j = i + offset
        out.append(parts[j] if w == "*" and 0 <= j < len(parts) else w)
    return ".".join(out)
