"""A numeric column whose values arrive as text is a change of type: quality lists it and
drift counts the column as drifted, whether the window is judged from rows or profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipway.monitoring.monitor import Monitor, Reference
from shipway.stats.profile import build_profile


def _window(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "input.age": ["forty"] * (n // 2) + [str(v) for v in rng.normal(40, 5, n - n // 2)],
            "input.plan": rng.choice(["free", "pro"], n),
            "output": rng.integers(0, 2, n),
            "model_version": 1,
            "request_id": [f"r{i}" for i in range(n)],
            "timestamp": np.arange(n, dtype=float),
            "latency_ms": 1.0,
        }
    )


@pytest.mark.parametrize("source", ["rows", "profile"])
def test_numbers_as_text_are_reported_as_a_type_change(source: str) -> None:
    rng = np.random.default_rng(5)
    train = pd.DataFrame(
        {"age": rng.normal(40, 5, 3000), "plan": rng.choice(["free", "pro"], 3000)}
    )
    monitor = Monitor(min_rows=10).fit(Reference(train, rng.integers(0, 2, 3000)))
    window = _window(rng, 400)
    profile = None
    if source == "profile":
        like = build_profile(train)
        inputs = window[["input.age", "input.plan"]].rename(columns=lambda c: c[6:])
        profile = build_profile(inputs, like=like)
    report = monitor.evaluate("w", window, profile=profile)
    assert report.quality["type_changed"] == {"age": 0.5}
    assert "age" not in report.quality["missing"], "text is not missing data"
    assert report.data_drift["drifted_columns"] == ["age"]
    assert report.data_drift["share_drifted"] == 0.5
