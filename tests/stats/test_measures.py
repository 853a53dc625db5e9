from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from shipway.stats import measures


@pytest.fixture
def samples() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return np.sort(rng.normal(size=3000)), np.sort(rng.normal(0.3, 1.2, size=2000))


def test_wasserstein_and_ks_match_scipy(samples: tuple[np.ndarray, np.ndarray]) -> None:
    ref, cur = samples
    assert measures.wasserstein(ref, cur) == pytest.approx(
        stats.wasserstein_distance(ref, cur), rel=1e-12
    )
    assert measures.ks_statistic(ref, cur) == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, rel=1e-12
    )
    assert measures.ks_pvalue(ref, cur) == pytest.approx(
        stats.ks_2samp(ref, cur, method="asymp").pvalue
    )
    assert (
        measures.normalized_wasserstein(ref, cur, 0.0)
        == measures.wasserstein(ref, cur) / measures.MIN_STD
    )


def test_jensen_shannon_matches_scipy() -> None:
    p, q = np.array([10.0, 20, 30, 0]), np.array([5.0, 5, 30, 10])
    assert measures.jensen_shannon(p, q) == pytest.approx(
        distance.jensenshannon(p / p.sum(), q / q.sum()), rel=1e-12
    )
    assert measures.jensen_shannon(p, p) == 0.0


def test_psi_by_hand() -> None:
    ref, cur = np.array([50.0, 50.0]), np.array([25.0, 75.0])
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert measures.psi(ref, cur) == pytest.approx(expected)
    assert measures.psi(np.array([10.0, 0.0]), np.array([10.0, 0.0])) == 0.0


def test_chi_squared_and_two_proportions() -> None:
    assert measures.chi_squared_pvalue(np.array([100.0, 100, 100]), np.array([33.0, 34, 33])) > 0.9
    assert (
        measures.chi_squared_pvalue(np.array([100.0, 100, 0]), np.array([30.0, 30, 40])) < 1e-6
    )  # unseen category
    assert measures.two_proportion_pvalue(50, 100, 50, 100) == pytest.approx(1.0)
    assert measures.two_proportion_pvalue(50, 100, 80, 100) < 0.001


def test_multiple_testing_corrections() -> None:
    p = [0.01, 0.04, 0.03, 0.5]
    assert measures.corrected(p, "bonferroni") == [0.04, 0.16, 0.12, 1.0]
    assert measures.corrected(p, "fdr") == pytest.approx(
        [0.04, 0.0533333, 0.0533333, 0.5], rel=1e-5
    )
    assert measures.corrected(p, "none") == p
