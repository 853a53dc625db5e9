"""The servers' traffic profiles: one running file per hour, version and server, whatever the
traffic, and nothing lost when an hour's profile is written more than once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shipway.serving.prediction_log import PREDICTIONS, partition
from shipway.serving.profiles import ProfileWriter, read_profile, window_profiles
from shipway.stats.profile import build_profile

HOUR = 1_700_000_000 - 1_700_000_000 % 3600  # the start of an hour, long over


def _segment(rng: np.random.Generator, rows: int, version: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_version": version,
            "input.x": rng.normal(size=rows),
            "input.colour": rng.choice(["red", "blue"], rows),
            "output": rng.integers(0, 2, rows),
        }
    )


def test_an_hour_of_segments_is_one_file_per_version(sw: Any) -> None:
    from shipway.session import current

    artifacts = current().stores.artifacts
    rng = np.random.default_rng(0)
    reference = build_profile(pd.DataFrame({"x": rng.normal(size=1000), "colour": ["red"] * 1000}))
    writer = ProfileWriter(artifacts, lambda deployment, version: reference)
    prefix = partition(PREDICTIONS, "live", HOUR + 10)
    segments = [_segment(rng, 50) for _ in range(30)] + [_segment(rng, 20, version=2)]
    for segment in segments:
        writer.add("live", prefix, segment)
    writer.save()  # within the minute: nothing written yet
    assert read_profile(artifacts, "live") is None
    writer.save(force=True)
    keys = [k for k in artifacts.list("profiles/deployment=live") if k.endswith(".json")]
    assert len(keys) == 2, "one file per version for the whole hour"
    one = read_profile(artifacts, "live", version=1)
    assert (
        one is not None
        and one.rows == 1500
        and one.columns["x"].edges == reference.columns["x"].edges
    )
    # the hour is over, so the writer forgot it; a late segment goes to a file of its own
    writer.add("live", prefix, _segment(rng, 7))
    writer.save(force=True)
    assert len([k for k in artifacts.list("profiles/deployment=live") if k.endswith(".json")]) == 3
    merged = read_profile(artifacts, "live", version=1)
    assert merged is not None and merged.rows == 1507, "the late rows add; nothing was overwritten"
    # the versions' predictions were binned apart: the window leaves that column out...
    (window,) = window_profiles(artifacts, "live", "hour", columns=["x", "colour"]).values()
    assert window is not None and window.rows == 1527, "both versions in the window"
    assert set(window.columns) == {"x", "colour"}
    # ...unless it is needed, and then the window's rows must be read
    assert list(window_profiles(artifacts, "live", "hour").values()) == [None]
