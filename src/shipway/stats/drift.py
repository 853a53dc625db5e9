"""Data drift between a reference and a current dataset, column by column.

:class:`DriftDetector` follows the scikit-learn contract: keyword settings stored as given,
``fit(reference)`` learns the reference once (sorted values, spreads, category shares) and
returns ``self``, ``score(current)`` compares a batch against it.

The automatic choice of test (``method="auto"``) depends on the reference size:
small samples (≤ ``small_sample`` rows) use p-value tests: Kolmogorov–Smirnov for numbers,
chi-squared for categories, a two-proportion z-test for two-valued columns, all at p < 0.05.
Large samples use distances with fixed thresholds, so a 0.01σ shift at a million rows is not
an alarm: Wasserstein-1 normalised by the reference's standard deviation for numbers, and
Jensen–Shannon distance for categories and for numbers with at most five distinct values,
both at ≥ 0.1.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from shipway.errors import InvalidArgument
from shipway.stats import measures
from shipway.stats.columns import (
    CATEGORICAL,
    NUMERIC,
    category_counts,
    column_kind,
    numeric_values,
    text_count,
)

PVALUE_METHODS = {"ks", "chisquare", "z"}
DISTANCE_METHODS = {"wasserstein", "jensenshannon", "psi"}
METHODS = PVALUE_METHODS | DISTANCE_METHODS
DEFAULT_THRESHOLDS = {
    "ks": 0.05,
    "chisquare": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
_FEW_VALUES = 5


@dataclass(frozen=True)
class ColumnDrift:
    """The verdict on one column."""

    column: str
    kind: str
    method: str | None
    score: float | None
    threshold: float | None
    drifted: bool
    n_reference: int
    n_current: int
    missing_reference: float = 0.0
    missing_current: float = 0.0
    status: str = (
        "ok"  # or: type_changed, missing_in_current, missing_in_reference, empty_reference,
        # empty_current
    )
    note: str = ""
    unseen_share: float = 0.0  # of the current values, those in categories the reference lacks

    @property
    def is_pvalue(self) -> bool:
        return self.method in PVALUE_METHODS

    @property
    def strength(self) -> float | None:
        """How far the verdict is past or short of its threshold (see :func:`strength`)."""
        return strength(self.score, self.threshold, self.is_pvalue)


def strength(score: float | None, threshold: float | None, pvalue: bool) -> float | None:
    """A score on one scale whatever its test: 0 where nothing moved, 1 at the threshold,
    more past it. A distance is divided by its threshold; a p-value, where smaller means more
    drift, is ``log(p) / log(threshold)`` (p = 1 gives 0, p = threshold gives 1, and every
    tenfold smaller p-value adds the same). None when there is no score or threshold."""

    if score is None or threshold is None or not math.isfinite(score):
        return None
    if pvalue:
        if not 0 < threshold < 1:
            return None
        return math.log(max(score, 1e-300)) / math.log(threshold) if score < 1 else 0.0
    return score / threshold if threshold > 0 else None


@dataclass(frozen=True)
class DriftResult:
    """Per-column verdicts and the dataset's verdict."""

    columns: list[ColumnDrift]
    drift_share: float
    n_drifted: int
    share_drifted: float
    dataset_drift: bool
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted]

    def column(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.column == name:
                return c
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset_drift": self.dataset_drift,
            "n_drifted": self.n_drifted,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "settings": self.settings,
            "columns": [asdict(c) for c in self.columns],
        }


@dataclass
class _Reference:
    kind: str
    n: int
    missing: int
    values: np.ndarray | None = None  # numeric: sorted finite values
    std: float = 0.0
    edges: np.ndarray | None = None  # numeric: quantile bin edges for PSI
    distinct: np.ndarray | None = None  # numeric with few values: the values
    counts: dict[str, int] = field(default_factory=dict)  # categorical


class DriftDetector:
    """Learns a reference dataset once, then scores batches against it."""

    def __init__(
        self,
        *,
        method: str = "auto",
        threshold: float | None = None,
        num_method: str | None = None,
        cat_method: str | None = None,
        per_column_method: dict[str, str] | None = None,
        per_column_threshold: dict[str, float] | None = None,
        drift_share: float = 0.5,
        categorical: list[str] | None = None,
        columns: list[str] | None = None,
        small_sample: int = 1000,
        psi_bins: int = 10,
        correction: str = "none",
        unseen_share: float = 0.01,
    ) -> None:
        self.method = method
        self.threshold = threshold
        self.num_method = num_method
        self.cat_method = cat_method
        self.per_column_method = per_column_method
        self.per_column_threshold = per_column_threshold
        self.drift_share = drift_share
        self.categorical = categorical
        self.columns = columns
        self.small_sample = small_sample
        self.psi_bins = psi_bins
        self.correction = correction
        self.unseen_share = unseen_share  # rows in categories the reference never saw: drift

    def get_params(self) -> dict[str, Any]:
        """The settings as given, for reports, cache keys and registry metadata."""

        return {
            name: getattr(self, name)
            for name in inspect.signature(type(self).__init__).parameters
            if name != "self"
        }

    def _check_params(self) -> None:
        for name in [
            self.method,
            self.num_method,
            self.cat_method,
            *(self.per_column_method or {}).values(),
        ]:
            if name is not None and name != "auto" and name not in METHODS:
                raise InvalidArgument(
                    f"unknown drift method {name!r}",
                    hint=f"use auto or one of: {', '.join(sorted(METHODS))}",
                )
        if not 0 < self.drift_share <= 1:
            raise InvalidArgument(f"drift_share must be in (0, 1], got {self.drift_share}")
        if not 0 <= self.unseen_share <= 1:
            raise InvalidArgument(f"unseen_share must be in [0, 1], got {self.unseen_share}")
        if self.correction not in ("none", "bonferroni", "fdr"):
            raise InvalidArgument(
                f"unknown correction {self.correction!r}", hint="use none, bonferroni or fdr"
            )

    # -- fitting -----------------------------------------------------------------------
    def fit(self, reference: Any) -> DriftDetector:
        self._check_params()
        if not hasattr(reference, "columns"):
            raise InvalidArgument("the reference must be a pandas DataFrame")
        wanted = (
            list(self.columns) if self.columns is not None else [str(c) for c in reference.columns]
        )
        declared = set(self.categorical or [])
        self.reference_: dict[str, _Reference] = {}
        self.missing_columns_ = [c for c in wanted if c not in reference.columns]
        for name in wanted:
            if name in reference.columns:
                self.reference_[name] = self._learn(reference[name], name in declared)
        self.n_reference_ = len(reference)
        return self

    def _learn(self, series: Any, declared_categorical: bool) -> _Reference:
        kind = column_kind(series, declared_categorical)
        if kind == NUMERIC:
            values, missing, _ = numeric_values(series)
            ref = _Reference(NUMERIC, int(values.size), missing, values=values)
            if values.size:
                ref.std = float(values.std(ddof=1)) if values.size > 1 else 0.0
                # values are sorted: quantiles are positions, distinct values are steps
                positions = np.round(np.linspace(0, values.size - 1, self.psi_bins + 1)).astype(int)
                ref.edges = np.unique(values[positions])
                steps = (
                    np.flatnonzero(np.diff(values)) if values.size > 1 else np.array([], dtype=int)
                )
                if steps.size < _FEW_VALUES:
                    ref.distinct = np.unique(values)
            return ref
        counts, missing = category_counts(series)
        return _Reference(CATEGORICAL, int(sum(counts.values())), missing, counts=counts)

    # -- scoring -----------------------------------------------------------------------
    def score(self, current: Any) -> DriftResult:
        if not hasattr(self, "reference_"):
            raise InvalidArgument("fit the detector on a reference before scoring")
        if not hasattr(current, "columns"):
            raise InvalidArgument("the current data must be a pandas DataFrame")
        verdicts: list[ColumnDrift] = []
        for name in self.missing_columns_:
            present = name in current.columns
            verdicts.append(
                ColumnDrift(
                    name,
                    "unknown",
                    None,
                    None,
                    None,
                    False,
                    0,
                    len(current) if present else 0,
                    status="missing_in_reference",
                    note="the column is not in the reference",
                )
            )
        for name, ref in self.reference_.items():
            if name not in current.columns:
                verdicts.append(
                    ColumnDrift(
                        name,
                        ref.kind,
                        None,
                        None,
                        None,
                        False,
                        ref.n,
                        0,
                        status="missing_in_current",
                        note="the column is not in the current data",
                    )
                )
                continue
            verdicts.append(self._score_column(name, ref, current[name], len(current)))
        extra = [
            str(c)
            for c in current.columns
            if str(c) not in self.reference_ and str(c) not in self.missing_columns_
        ]
        if self.columns is None:
            for name in extra:
                verdicts.append(
                    ColumnDrift(
                        name,
                        "unknown",
                        None,
                        None,
                        None,
                        False,
                        0,
                        len(current),
                        status="missing_in_reference",
                        note="the column is not in the reference",
                    )
                )
        verdicts = self._apply_correction(verdicts)
        compared = [v for v in verdicts if v.status in COMPARED]
        n_drifted = sum(v.drifted for v in compared)
        share = n_drifted / len(compared) if compared else 0.0
        return DriftResult(
            verdicts,
            self.drift_share,
            n_drifted,
            share,
            bool(compared) and share >= self.drift_share,
            settings={k: v for k, v in self.get_params().items() if v is not None},
        )

    def method_for(self, name: str) -> str:
        """The test this fitted detector applies to reference column ``name``."""
        return self._choose(name, self.reference_[name])

    def threshold_for(self, name: str, method: str) -> float:
        """The threshold of ``method`` on column ``name`` (per column, global, or default)."""
        return self._threshold(name, method)

    def _choose(self, name: str, ref: _Reference) -> str:
        chosen = (self.per_column_method or {}).get(name)
        if chosen is None:
            chosen = self.num_method if ref.kind == NUMERIC else self.cat_method
        if chosen is None or chosen == "auto":
            chosen = self.method
        if chosen != "auto":
            return chosen
        small = self.n_reference_ <= self.small_sample
        few = ref.kind == CATEGORICAL or ref.distinct is not None
        if not few:
            return "ks" if small else "wasserstein"
        if small:
            n_values = len(ref.counts) if ref.kind == CATEGORICAL else len(ref.distinct)  # type: ignore[arg-type]
            return "z" if n_values <= 2 else "chisquare"
        return "jensenshannon"

    def _threshold(self, name: str, method: str) -> float:
        per_column = (self.per_column_threshold or {}).get(name)
        if per_column is not None:
            return per_column
        if self.threshold is not None:
            return self.threshold
        return DEFAULT_THRESHOLDS[method]

    def _score_column(self, name: str, ref: _Reference, series: Any, rows: int) -> ColumnDrift:
        method = self._choose(name, ref)
        threshold = self._threshold(name, method)
        text = 0
        if ref.kind == NUMERIC:
            cur_values, cur_missing, cur_inf = numeric_values(series)
            text = text_count(series)
            cur_missing -= text  # text where numbers belong is there, just of another type
            n_cur = int(cur_values.size)
        else:
            cur_counts, cur_missing = category_counts(series)
            n_cur = int(sum(cur_counts.values()))
            cur_inf = 0
        base: dict[str, Any] = {
            "column": name,
            "kind": ref.kind,
            "method": method,
            "threshold": threshold,
            "n_reference": ref.n,
            "n_current": n_cur,
            "missing_reference": ref.missing / self.n_reference_ if self.n_reference_ else 0.0,
            "missing_current": cur_missing / rows if rows else 0.0,
        }
        if ref.n == 0:
            return ColumnDrift(
                **base,
                score=None,
                drifted=False,
                status="empty_reference",
                note="no values in the reference",
            )
        changed = type_change_note(text, text + n_cur + cur_inf)
        if n_cur == 0:
            return ColumnDrift(
                **base,
                score=None,
                drifted=bool(text),
                status="type_changed" if text else "empty_current",
                note=changed or "no values in the current data",
            )
        notes = [changed] if changed else []
        if cur_inf:
            notes.append(f"{cur_inf} infinite value(s) ignored")
        unseen_share = 0.0
        if ref.kind == NUMERIC:
            score = self._numeric_score(method, ref, cur_values)
        else:
            score = self._categorical_score(method, ref, cur_counts)
            unseen = sorted(set(cur_counts) - set(ref.counts))
            unseen_share = sum(cur_counts[k] for k in unseen) / n_cur
            if unseen:
                notes.append(unseen_note(unseen, unseen_share))
        drifted = score < threshold if method in PVALUE_METHODS else score >= threshold
        drifted = self.counts_as_drift(bool(drifted), bool(text), unseen_share)
        return ColumnDrift(
            **base,
            score=score,
            drifted=bool(drifted),
            unseen_share=unseen_share,
            status="type_changed" if text else "ok",
            note="; ".join(notes),
        )

    def too_many_unseen(self, share: float) -> bool:
        """Whether so many values fall in categories the reference never saw that the column
        counts as drifted whatever its distance."""
        return share > 0 and share >= self.unseen_share

    def counts_as_drift(
        self, beyond_threshold: bool, type_changed: bool, unseen_share: float
    ) -> bool:
        """The one rule of a column's verdict: its test says so, its values changed type, or
        too many fall in categories the reference never saw."""
        return beyond_threshold or type_changed or self.too_many_unseen(unseen_share)

    def _numeric_score(self, method: str, ref: _Reference, current: np.ndarray) -> float:
        assert ref.values is not None
        if method == "ks":
            return measures.ks_pvalue(ref.values, current)
        if method == "wasserstein":
            return measures.normalized_wasserstein(ref.values, current, ref.std)
        if method == "psi":
            ref_counts, cur_counts = _binned(ref, current)
            return measures.psi(ref_counts, cur_counts)
        # categorical methods on a numeric column treat each distinct value as a category
        categories = np.union1d(
            ref.distinct if ref.distinct is not None else np.unique(ref.values), np.unique(current)
        )
        ref_counts = _count_values(ref.values, categories)
        cur_counts = _count_values(current, categories)
        if method == "jensenshannon":
            if ref.distinct is None:
                ref_counts, cur_counts = _binned(ref, current)
            return measures.jensen_shannon(ref_counts, cur_counts)
        if method == "z":
            top = categories[int(np.argmax(ref_counts))]
            return measures.two_proportion_pvalue(
                int((ref.values == top).sum()), ref.n, int((current == top).sum()), current.size
            )
        return measures.chi_squared_pvalue(ref_counts, cur_counts)

    def _categorical_score(self, method: str, ref: _Reference, current: dict[str, int]) -> float:
        keys = sorted(set(ref.counts) | set(current))
        ref_counts = np.array([ref.counts.get(k, 0) for k in keys], dtype=float)
        cur_counts = np.array([current.get(k, 0) for k in keys], dtype=float)
        if method == "jensenshannon":
            return measures.jensen_shannon(ref_counts, cur_counts)
        if method == "psi":
            return measures.psi(ref_counts, cur_counts)
        if method == "z":
            top = max(ref.counts, key=ref.counts.__getitem__)
            return measures.two_proportion_pvalue(
                ref.counts[top], ref.n, current.get(top, 0), int(cur_counts.sum())
            )
        if method == "chisquare":
            return measures.chi_squared_pvalue(ref_counts, cur_counts)
        raise InvalidArgument(
            f"{method} needs a numeric column; use jensenshannon, psi, chisquare or z for categories"
        )

    def _apply_correction(self, verdicts: list[ColumnDrift]) -> list[ColumnDrift]:
        if self.correction == "none":
            return verdicts
        indexes = [
            i
            for i, v in enumerate(verdicts)
            if v.status == "ok" and v.is_pvalue and v.score is not None
        ]
        adjusted = measures.corrected([verdicts[i].score for i in indexes], self.correction)  # type: ignore[misc]
        out = list(verdicts)
        for i, p in zip(indexes, adjusted, strict=True):
            v = verdicts[i]
            out[i] = ColumnDrift(
                **{
                    **asdict(v),
                    "score": p,
                    "drifted": self.counts_as_drift(
                        p < (v.threshold or 0.05), v.status == "type_changed", v.unseen_share
                    ),
                    "note": (v.note + f" {self.correction}-corrected").strip(),
                }
            )
        return out


def type_change_note(text: int, values: int) -> str:
    """Why a numeric column counts as drifted when text arrives in it ("" when none does)."""
    if not text:
        return ""
    return f"type changed: {text} of {values} value(s) are text where the reference has numbers"


def unseen_note(unseen: list[str], share: float) -> str:
    shown = ", ".join(unseen[:5]) + (" …" if len(unseen) > 5 else "")
    return f"unseen categories ({share:.1%} of values): {shown}"


COMPARED = ("ok", "type_changed")  # the statuses whose verdicts count toward the share drifted


def _binned(ref: _Reference, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts over the reference's quantile bins (values outside fall in the end bins)."""
    assert ref.edges is not None and ref.values is not None
    inner = ref.edges[1:-1]
    ref_counts = np.bincount(
        np.searchsorted(inner, ref.values, side="right"), minlength=inner.size + 1
    )
    cur_counts = np.bincount(
        np.searchsorted(inner, current, side="right"), minlength=inner.size + 1
    )
    return ref_counts.astype(float), cur_counts.astype(float)


def _count_values(values: np.ndarray, categories: np.ndarray) -> np.ndarray:
    positions = np.searchsorted(categories, values)
    return np.bincount(positions, minlength=categories.size).astype(float)


def detect_drift(reference: Any, current: Any, **settings: Any) -> DriftResult:
    """Fit on ``reference`` and score ``current`` in one call."""
    return DriftDetector(**settings).fit(reference).score(current)
