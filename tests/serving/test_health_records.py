"""Health records and hourly profiles survive a store that fails: what could not be written is
counted again and written next time, for every deployment, not only the first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipway.serving.prediction_log import PREDICTIONS, PredictionLog, partition, read_health
from shipway.serving.profiles import ProfileWriter, read_profile


class _Flaky:
    """An artifact store whose next ``failures`` writes under ``prefix`` fail."""

    def __init__(self, inner: Any, prefix: str, failures: int) -> None:
        self.inner, self.prefix, self.failures = inner, prefix, failures

    def put_bytes(self, data: bytes, key: str) -> Any:
        if key.startswith(self.prefix) and self.failures:
            self.failures -= 1
            raise OSError("the store is away")
        return self.inner.put_bytes(data, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_health_counts_are_kept_until_written(sw: Any) -> None:
    from shipway.session import current

    store = _Flaky(current().stores.artifacts, "health/", failures=1)
    log = PredictionLog(store, flush_seconds=3600)
    try:
        for deployment, code, version in (("a", 400, None), ("b", 500, 2), ("b", 500, 2)):
            log.note_error(deployment, code, version)
        with pytest.raises(OSError):
            log.write_health(force=True)
        log.write_health(force=True)
    finally:
        log.close()
    (a,) = read_health(store, "a")
    (b,) = read_health(store, "b")
    assert a["errors"] == {"400": 1}, "the deployment whose write failed kept its count"
    assert b["errors"] == {"500": 2} and b["errors_by_version"] == {"2": 2}
    assert len(b["error_times_by_version"]["2"]) == 2  # kept with the count they belong to


def test_a_model_versions_errors_are_written_within_seconds_not_a_minute(sw: Any) -> None:
    import time

    from shipway.session import current

    store = current().stores.artifacts
    log = PredictionLog(store, flush_seconds=3600, health_seconds=3600, error_seconds=0.0)
    try:
        log.note_error("a", 422)  # refused before reaching a model: waits for the minute
        log.write_health()
        assert read_health(store, "a") == []
        before = time.time()
        log.note_error("a", 500, 3)  # a model version failed: a canary waits on this
        log.write_health()
    finally:
        log.close()
    (record,) = read_health(store, "a")
    assert record["errors_by_version"] == {"3": 1}
    (when,) = record["error_times_by_version"]["3"]
    assert before <= when <= record["time"]


def test_hourly_profiles_are_kept_until_written(sw: Any) -> None:
    from shipway.session import current

    store = _Flaky(current().stores.artifacts, "profiles/", failures=1)
    writer = ProfileWriter(store, lambda deployment, version: None)
    rng = np.random.default_rng(1)
    for deployment in ("a", "b"):
        segment = pd.DataFrame({"model_version": 1, "input.x": rng.normal(size=30), "output": 0})
        writer.add(deployment, partition(PREDICTIONS, deployment, 1_700_000_000), segment)
    with pytest.raises(OSError):
        writer.save(force=True)
    writer.save(force=True)
    for deployment in ("a", "b"):
        found = read_profile(store, deployment)
        assert found is not None and found.rows == 30, deployment
