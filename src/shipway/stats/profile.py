"""Mergeable dataset profiles: per column counts, missing share, moments, bins, categories.

Two profiles built with the same bin edges merge into the profile of their union, exactly:
counts add, moments combine by Chan's parallel formula, histograms add bin by bin. So hourly
profiles from many servers merge into a day or a month without re-reading raw rows. Build a
reference profile once (its edges come from its quantiles) and profile every later batch
with :func:`build_profile`'s ``like=reference`` so the bins line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

MAX_CATEGORIES = 1000  # beyond this, the rarest categories are folded into "__other__"
OTHER = "__other__"


@dataclass
class ColumnProfile:
    kind: str
    count: int = 0  # non-missing values
    missing: int = 0
    infinite: int = 0
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    minimum: float | None = None
    maximum: float | None = None
    edges: list[float] = field(
        default_factory=list
    )  # inner bin edges; len(counts) == len(edges) + 1
    bins: list[int] = field(default_factory=list)
    sums: list[float] = field(default_factory=list)  # per bin: where its mass sits (empty: unknown)
    categories: dict[str, int] = field(default_factory=dict)
    out_of_range: int = 0  # values outside the range of the profile built ``like`` (a reference's)
    text: int = 0  # values present but not numbers, in a numeric column: a change of type

    @property
    def rows(self) -> int:
        return self.count + self.missing + self.infinite + self.text

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    @property
    def std(self) -> float:
        return float(np.sqrt(self.m2 / (self.count - 1))) if self.count > 1 else 0.0

    def quantile(self, q: float) -> float | None:
        """An approximate quantile from the bins (exact at the bin edges)."""
        if self.kind != NUMERIC or not self.count or self.minimum is None or self.maximum is None:
            return None
        bounds = [self.minimum, *self.edges, self.maximum]
        cumulative = np.cumsum(self.bins) / self.count
        i = int(np.searchsorted(cumulative, q))
        i = min(i, len(self.bins) - 1)
        before = cumulative[i - 1] if i else 0.0
        width = cumulative[i] - before
        fraction = (q - before) / width if width > 0 else 0.0
        return float(bounds[i] + fraction * (bounds[i + 1] - bounds[i]))

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        if self.kind != other.kind:
            raise InvalidArgument(f"cannot merge a {self.kind} profile with a {other.kind} one")
        merged = ColumnProfile(
            self.kind,
            self.count + other.count,
            self.missing + other.missing,
            self.infinite + other.infinite,
            text=self.text + other.text,
        )
        if self.kind == NUMERIC:
            if self.edges != other.edges:
                raise InvalidArgument(
                    "cannot merge profiles with different bins",
                    hint="build both with like=<the same reference profile>",
                )
            n = merged.count
            if n:
                delta = other.mean - self.mean
                merged.mean = self.mean + delta * other.count / n
                merged.m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
            mins = [v for v in (self.minimum, other.minimum) if v is not None]
            maxs = [v for v in (self.maximum, other.maximum) if v is not None]
            merged.minimum = min(mins) if mins else None
            merged.maximum = max(maxs) if maxs else None
            merged.edges = list(self.edges)
            merged.bins = [a + b for a, b in zip(self.bins, other.bins, strict=True)]
            if self.sums and other.sums:  # a profile from before sums were kept lacks them
                merged.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
            merged.out_of_range = self.out_of_range + other.out_of_range
        else:
            categories = dict(self.categories)
            for key, value in other.categories.items():
                categories[key] = categories.get(key, 0) + value
            merged.categories = _fold(categories)
        return merged

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        return cls(**data)


@dataclass
class DatasetProfile:
    rows: int
    columns: dict[str, ColumnProfile]

    def merge(self, other: DatasetProfile) -> DatasetProfile:
        names = list(dict.fromkeys([*self.columns, *other.columns]))
        merged: dict[str, ColumnProfile] = {}
        for name in names:
            mine, theirs = self.columns.get(name), other.columns.get(name)
            if mine is None or theirs is None:
                present = mine or theirs
                assert present is not None
                absent_rows = self.rows if mine is None else other.rows
                # A column absent from one side counts as missing there.
                extra = ColumnProfile(
                    present.kind,
                    missing=absent_rows,
                    edges=list(present.edges),
                    bins=[0] * len(present.bins),
                    sums=[0.0] * len(present.sums),
                )
                merged[name] = present.merge(extra)
            else:
                merged[name] = mine.merge(theirs)
        return DatasetProfile(self.rows + other.rows, merged)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": {k: v.to_dict() for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetProfile:
        return cls(
            int(data["rows"]), {k: ColumnProfile.from_dict(v) for k, v in data["columns"].items()}
        )


def _fold(categories: dict[str, int]) -> dict[str, int]:
    if len(categories) <= MAX_CATEGORIES:
        return categories
    ranked = sorted(categories.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[: MAX_CATEGORIES - 1])
    kept[OTHER] = kept.get(OTHER, 0) + sum(v for _, v in ranked[MAX_CATEGORIES - 1 :])
    return kept


def build_profile(
    df: Any,
    *,
    bins: int = 20,
    like: DatasetProfile | None = None,
    categorical: list[str] | None = None,
) -> DatasetProfile:
    """Profile ``df``. With ``like``, use its column kinds and bin edges so the two can merge or be compared."""
    declared = set(categorical or [])
    columns: dict[str, ColumnProfile] = {}
    for name in df.columns:
        key = str(name)
        template = like.columns.get(key) if like is not None else None
        kind = template.kind if template is not None else column_kind(df[name], key in declared)
        if kind == NUMERIC:
            values, missing, infinite = numeric_values(df[name])
            text = text_count(df[name])
            if template is not None:
                edges = np.asarray(template.edges, dtype=float)
            else:
                edges = (
                    np.unique(np.quantile(values, np.linspace(0, 1, bins + 1))[1:-1])
                    if values.size
                    else np.array([])
                )
            which = np.searchsorted(edges, values, side="right")
            counts = np.bincount(which, minlength=edges.size + 1)
            sums = np.bincount(which, weights=values, minlength=edges.size + 1)
            profile = ColumnProfile(
                NUMERIC,
                int(values.size),
                missing - text,
                infinite,
                text=text,
                edges=[float(e) for e in edges],
                bins=[int(c) for c in counts],
                sums=[float(v) for v in sums],
            )
            if template is not None and template.minimum is not None and values.size:
                # sorted values: two binary searches count those outside the template's range
                high, low = float(template.maximum or 0.0), float(template.minimum)
                inside = np.searchsorted(values, high, side="right") - np.searchsorted(
                    values, low, side="left"
                )
                profile.out_of_range = int(values.size - inside)
            if values.size:
                profile.mean = float(values.mean())
                profile.m2 = float(((values - profile.mean) ** 2).sum())
                profile.minimum, profile.maximum = float(values[0]), float(values[-1])
            columns[key] = profile
        else:
            counts_by_category, missing = category_counts(df[name])
            columns[key] = ColumnProfile(
                CATEGORICAL,
                sum(counts_by_category.values()),
                missing,
                categories=_fold(counts_by_category),
            )
    return DatasetProfile(len(df), columns)


def profile_distance(
    reference: ColumnProfile, current: ColumnProfile, method: str = "auto"
) -> tuple[str, float]:
    """A drift distance between two profiles of one column (bins must match).

    The Wasserstein distance from bins puts each bin's mass at its mean (profiles keep each
    bin's sum), which keeps long tails in place; profiles without sums assume values spread
    evenly inside each bin.

    Distances only: p-values from binned summaries of large samples are noise.
    ``auto`` is the normalised Wasserstein distance for numbers, Jensen–Shannon for categories.
    """
    if reference.kind == NUMERIC:
        if reference.edges != current.edges:
            raise InvalidArgument(
                "profiles have different bins", hint="profile the current data with like=reference"
            )
        ref_bins, cur_bins = np.asarray(reference.bins, float), np.asarray(current.bins, float)
        chosen = "wasserstein" if method == "auto" else method
        if chosen == "psi":
            return chosen, measures.psi(ref_bins, cur_bins)
        if chosen == "jensenshannon":
            return chosen, measures.jensen_shannon(ref_bins, cur_bins)
        if chosen != "wasserstein":
            raise InvalidArgument(
                f"profiles support wasserstein, psi and jensenshannon, not {method!r}"
            )
        lows = [v for v in (reference.minimum, current.minimum) if v is not None]
        highs = [v for v in (reference.maximum, current.maximum) if v is not None]
        if not lows or not reference.count or not current.count:
            return chosen, 0.0
        if reference.sums and current.sums:
            return chosen, _atoms_distance(reference, current) / max(
                reference.std, measures.MIN_STD
            )
        bounds = np.array([min(lows), *reference.edges, max(highs)])
        widths = np.diff(bounds)
        # The CDFs' gap at every bin boundary, and between boundaries as if values spread
        # evenly inside their bin: the gap is linear there, and so is its integral.
        gap = np.r_[
            0.0, np.cumsum(measures.shares(ref_bins)) - np.cumsum(measures.shares(cur_bins))
        ]
        left, right = gap[:-1], gap[1:]
        same_sign = left * right >= 0
        total = np.abs(left) + np.abs(right)
        area = np.where(
            same_sign, total / 2, (left**2 + right**2) / (2 * np.where(total > 0, total, 1.0))
        )
        return chosen, float(np.sum(area * widths)) / max(reference.std, measures.MIN_STD)
    keys = sorted(set(reference.categories) | set(current.categories))
    ref_counts = np.array([reference.categories.get(k, 0) for k in keys], float)
    cur_counts = np.array([current.categories.get(k, 0) for k in keys], float)
    chosen = "jensenshannon" if method == "auto" else method
    if chosen == "psi":
        return chosen, measures.psi(ref_counts, cur_counts)
    if chosen != "jensenshannon":
        raise InvalidArgument(f"categorical profiles support jensenshannon and psi, not {method!r}")
    return chosen, measures.jensen_shannon(ref_counts, cur_counts)


def _atoms_distance(reference: ColumnProfile, current: ColumnProfile) -> float:
    """Wasserstein-1 between the two profiles with every bin's mass at the bin's mean."""
    atoms, weights = [], []
    for profile, sign in ((reference, 1.0), (current, -1.0)):
        counts = np.asarray(profile.bins, float)
        filled = counts > 0
        atoms.append(np.asarray(profile.sums, float)[filled] / counts[filled])
        weights.append(sign * counts[filled] / counts.sum())
    points, mass = np.concatenate(atoms), np.concatenate(weights)
    order = np.argsort(points, kind="mergesort")
    points, mass = points[order], mass[order]
    # between consecutive atoms the CDFs differ by the running sum of signed masses
    return float(np.sum(np.abs(np.cumsum(mass)[:-1]) * np.diff(points)))
