"""Drift measures between a reference and a current sample. Pure numpy/scipy, no I/O.

Each function compares two samples (sorted arrays, or counts over the same bins or
categories) and returns a float: a p-value for the tests, a distance for the rest.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

EPS = 1e-4  # replaces empty bins' shares in PSI (documented smoothing)
MIN_STD = 1e-3  # the normalised Wasserstein distance's floor on the reference spread

FloatArray = NDArray[np.float64]


def ks_pvalue(reference_sorted: FloatArray, current_sorted: FloatArray) -> float:
    """Two-sample Kolmogorov–Smirnov p-value (exact for small samples, asymptotic otherwise)."""
    from scipy import stats

    method = "exact" if reference_sorted.size * current_sorted.size < 10_000 else "asymp"
    return float(stats.ks_2samp(reference_sorted, current_sorted, method=method).pvalue)


def _merged_cdfs(
    reference_sorted: FloatArray, current_sorted: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Both empirical CDFs along the merged sample: values, F_ref and F_cur at each value.

    A stable argsort of two sorted runs is a linear-time merge (timsort), much cheaper than
    searching every value in both samples.
    """
    values = np.concatenate([reference_sorted, current_sorted])
    order = np.argsort(values, kind="stable")
    merged = values[order]
    from_reference = order < reference_sorted.size
    cdf_ref = np.cumsum(from_reference) / reference_sorted.size
    cdf_cur = np.cumsum(~from_reference) / current_sorted.size
    return merged, cdf_ref, cdf_cur


def ks_statistic(reference_sorted: FloatArray, current_sorted: FloatArray) -> float:
    """The largest distance between the two empirical CDFs, from sorted samples."""
    merged, cdf_ref, cdf_cur = _merged_cdfs(reference_sorted, current_sorted)
    last_of_value = np.append(merged[1:] != merged[:-1], True)  # ties: compare after the last one
    return float(np.max(np.abs(cdf_ref[last_of_value] - cdf_cur[last_of_value])))


def wasserstein(reference_sorted: FloatArray, current_sorted: FloatArray) -> float:
    """Wasserstein-1 distance (the area between the two empirical CDFs) from sorted samples."""
    merged, cdf_ref, cdf_cur = _merged_cdfs(reference_sorted, current_sorted)
    return float(np.sum(np.abs(cdf_ref[:-1] - cdf_cur[:-1]) * np.diff(merged)))


def normalized_wasserstein(
    reference_sorted: FloatArray, current_sorted: FloatArray, reference_std: float
) -> float:
    """Wasserstein-1 in units of the reference's standard deviation: scale-free, so one threshold fits all."""
    return wasserstein(reference_sorted, current_sorted) / max(reference_std, MIN_STD)


def shares(counts: FloatArray) -> FloatArray:
    total = counts.sum()
    return counts / total if total > 0 else counts


def psi(reference_counts: FloatArray, current_counts: FloatArray) -> float:
    """Population Stability Index over the same bins; empty shares become ``EPS``."""
    ref = np.maximum(shares(reference_counts.astype(float)), EPS)
    cur = np.maximum(shares(current_counts.astype(float)), EPS)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def jensen_shannon(reference_counts: FloatArray, current_counts: FloatArray) -> float:
    """Jensen–Shannon distance (natural log, so between 0 and √ln 2 ≈ 0.83)."""
    p = shares(reference_counts.astype(float))
    q = shares(current_counts.astype(float))
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    divergence = max(float(np.sum(left) + np.sum(right)) / 2, 0.0)
    return math.sqrt(divergence)


def chi_squared_pvalue(reference_counts: FloatArray, current_counts: FloatArray) -> float:
    """Goodness of fit of current's counts to the reference's proportions.

    A category the reference never saw gets a tiny expected count, so seeing it is drift.
    """
    from scipy import stats

    n_current = current_counts.sum()
    if n_current == 0:
        return 1.0
    expected = np.maximum(shares(reference_counts.astype(float)), 1e-9) * n_current
    expected *= n_current / expected.sum()  # chisquare wants equal totals
    return float(stats.chisquare(current_counts.astype(float), expected).pvalue)


def two_proportion_pvalue(
    reference_hits: int, reference_n: int, current_hits: int, current_n: int
) -> float:
    """Two-sided z-test that two proportions are equal."""
    from scipy import stats

    if reference_n == 0 or current_n == 0:
        return 1.0
    pooled = (reference_hits + current_hits) / (reference_n + current_n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / reference_n + 1 / current_n))
    if spread == 0:
        return 1.0 if reference_hits / reference_n == current_hits / current_n else 0.0
    z = (current_hits / current_n - reference_hits / reference_n) / spread
    return float(2 * stats.norm.sf(abs(z)))


def corrected(pvalues: list[float], correction: str) -> list[float]:
    """p-values adjusted for testing many columns at once (Bonferroni or Benjamini–Hochberg)."""
    if correction == "none" or not pvalues:
        return pvalues
    m = len(pvalues)
    if correction == "bonferroni":
        return [min(p * m, 1.0) for p in pvalues]
    order = sorted(range(m), key=lambda i: pvalues[i])  # Benjamini–Hochberg
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = running
    return adjusted
