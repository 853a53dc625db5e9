from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipway.errors import InvalidArgument
from shipway.stats.profile import DatasetProfile, build_profile, profile_distance


def data(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[:5] = np.nan
    return pd.DataFrame({"x": x, "c": rng.choice(["a", "b", "c"], n)})


def test_merged_profile_equals_profile_of_the_union() -> None:
    reference = build_profile(data(5000, 0))
    a, b = data(3000, 1, 0.2), data(2000, 2, -0.1)
    merged = build_profile(a, like=reference).merge(build_profile(b, like=reference))
    whole = build_profile(pd.concat([a, b]), like=reference)
    for name in ("x", "c"):
        m, w = merged.columns[name], whole.columns[name]
        assert (m.count, m.missing, m.bins, m.categories, m.edges) == (
            w.count,
            w.missing,
            w.bins,
            w.categories,
            w.edges,
        )
        assert m.mean == pytest.approx(w.mean) and m.std == pytest.approx(w.std)
        assert (m.minimum, m.maximum) == (w.minimum, w.maximum)
    assert merged.rows == 5000 and merged.columns["x"].missing_share == pytest.approx(10 / 5000)


def test_profile_survives_json_round_trip() -> None:
    profile = build_profile(data(1000, 0))
    assert DatasetProfile.from_dict(profile.to_dict()) == profile


def test_quantiles_from_bins_are_close() -> None:
    frame = data(50_000, 0)
    profile = build_profile(frame, bins=50).columns["x"]
    for q in (0.1, 0.5, 0.9):
        assert profile.quantile(q) == pytest.approx(np.nanquantile(frame["x"], q), abs=0.02)


def test_profile_distances_find_the_shift() -> None:
    reference = build_profile(data(20_000, 0))
    same = build_profile(data(20_000, 1), like=reference)
    shifted = build_profile(data(20_000, 2, shift=0.5), like=reference)
    assert profile_distance(reference.columns["x"], same.columns["x"])[1] < 0.05
    method, score = profile_distance(reference.columns["x"], shifted.columns["x"])
    assert method == "wasserstein" and score == pytest.approx(0.5, abs=0.08)
    assert profile_distance(reference.columns["c"], same.columns["c"])[1] < 0.05
    assert profile_distance(reference.columns["x"], shifted.columns["x"], "psi")[1] > 0.1


def test_mismatched_bins_refuse_to_merge() -> None:
    one, other = build_profile(data(100, 0)), build_profile(data(100, 1))
    with pytest.raises(InvalidArgument, match="different bins"):
        one.merge(other)


def test_column_on_one_side_counts_as_missing_on_the_other() -> None:
    ref = build_profile(data(100, 0))
    extra = build_profile(data(50, 1).assign(z=1.0), like=ref)
    merged = ref.merge(extra)
    assert merged.columns["z"].missing == 100 and merged.columns["z"].count == 50
