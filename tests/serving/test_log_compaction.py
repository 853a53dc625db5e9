"""The prediction log at scale: read as one dataset with partitions pruned, closed hours
compacted into one file without a row read twice, old partitions expired; on a folder and
on S3."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipway.serving import log_compaction
from shipway.serving.prediction_log import PREDICTIONS, PredictionLog, read_log
from tests.conftest import WANT_S3, make_settings

HOUR = 3600.0


@pytest.fixture(params=["local"] + (["s3"] if WANT_S3 else []))
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    from shipway.store import open_stores

    stores = open_stores(make_settings(tmp_path, "sqlite", request.param, request))
    yield stores.artifacts
    stores.close()


def _segments(artifacts: Any, start: float, count: int, rows: int = 5) -> pd.DataFrame:
    """``count`` segments of ``rows`` rows, one flush each, from ``start`` on; the last one
    carries a column the others lack (a shadow started)."""
    log = PredictionLog(artifacts, flush_seconds=3600)
    frames = []
    try:
        for i in range(count):
            frame = pd.DataFrame(
                {
                    "request_id": [f"r{i}-{j}" for j in range(rows)],
                    "row": range(rows),
                    "timestamp": [start + i * 10 + j for j in range(rows)],
                    "output": [float(i)] * rows,
                }
            )
            if i == count - 1:
                frame["shadow_output"] = 1.0
            log.append(PREDICTIONS, "live", frame, when=start + i * 10)
            log.flush()
            frames.append(frame)
    finally:
        log.close()
    return pd.concat(frames, ignore_index=True)


def _files(artifacts: Any, start: float) -> list[str]:
    stamp = time.gmtime(start)
    hour = f"date={time.strftime('%Y-%m-%d', stamp)}/hour={stamp.tm_hour:02d}"
    return [k for k in artifacts.list("predictions/deployment=live") if hour in k]


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("timestamp", ignore_index=True)[sorted(frame.columns)]


def test_reads_are_pruned_to_the_range_and_the_columns(artifacts: Any) -> None:
    now = time.time()
    old = (now // HOUR - 30) * HOUR  # yesterday, about
    recent = (now // HOUR - 2) * HOUR
    _segments(artifacts, old, 3)
    written = _segments(artifacts, recent, 4)
    got = read_log(artifacts, PREDICTIONS, "live", start=recent, end=recent + HOUR)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(written), check_dtype=False)
    assert got["shadow_output"].isna().sum() == 15, "segments lacking a column read it as null"
    narrow = read_log(artifacts, PREDICTIONS, "live", columns=["timestamp", "absent"], start=recent)
    assert list(narrow.columns) == ["timestamp"] and len(narrow) == 20
    cut = read_log(artifacts, PREDICTIONS, "live", start=recent + 12, end=recent + 22)
    assert sorted(cut["timestamp"]) == [recent + t for t in (12, 13, 14, 20, 21)], "to the row"
    assert read_log(artifacts, PREDICTIONS, "nobody").empty


def test_a_closed_hour_becomes_one_file_and_no_row_is_read_twice(
    artifacts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    closed = (now // HOUR - 2) * HOUR
    current = (now // HOUR) * HOUR
    written = _segments(artifacts, closed, 6)
    _segments(artifacts, current, 2)
    before = read_log(artifacts, PREDICTIONS, "live")
    done = log_compaction.compact(artifacts, "live", now=now)
    assert (done.hours, done.segments) == (1, 6)
    assert len(_files(artifacts, closed)) == 1 and len(_files(artifacts, current)) == 2, (
        "the open hour is left to its writers"
    )
    after = read_log(artifacts, PREDICTIONS, "live")
    pd.testing.assert_frame_equal(_sorted(after), _sorted(before), check_dtype=False)
    assert len(read_log(artifacts, PREDICTIONS, "live", end=closed + HOUR)) == len(written)
    assert log_compaction.compact(artifacts, "live", now=now).hours == 0, "nothing left to do"

    # A compaction cut short after its file was written: the old segments are still there,
    # readers skip them, and the next pass deletes them.
    _segments(artifacts, closed + 100, 2)
    monkeypatch.setattr(
        log_compaction, "_delete", lambda fs, path: (_ for _ in ()).throw(OSError("killed"))
    )
    with pytest.raises(OSError):
        log_compaction.compact(artifacts, "live", now=now)
    assert len(_files(artifacts, closed)) == 4
    assert len(read_log(artifacts, PREDICTIONS, "live", end=closed + HOUR)) == len(written) + 10
    monkeypatch.undo()
    log_compaction.compact(artifacts, "live", now=now)
    assert len(_files(artifacts, closed)) == 1
    assert len(read_log(artifacts, PREDICTIONS, "live", end=closed + HOUR)) == len(written) + 10


def test_retention_expires_whole_old_days(artifacts: Any) -> None:
    now = time.time()
    _segments(artifacts, now - 10 * 86400, 2)
    kept = _segments(artifacts, now - 3 * 86400, 2)
    artifacts.put_bytes(
        b"{}",
        f"health/deployment=live/date={time.strftime('%Y-%m-%d', time.gmtime(now - 10 * 86400))}/hour=00/x.json",
    )
    artifacts.put_bytes(b"x", "predictions/deployment=live/date=someday/notes.txt")  # not ours
    assert log_compaction.expire(artifacts, "live", 7, now=now) == 2, (
        "the predictions' and the health's day"
    )
    assert len(read_log(artifacts, PREDICTIONS, "live")) == len(kept), "a stray folder is skipped"
    assert not [k for k in artifacts.list("health/deployment=live")]


def test_the_monitoring_lease_holder_keeps_the_log(tmp_path: Path, sw: Any) -> None:
    import dataclasses

    from shipway.automation.rounds import LEASE, MonitoringRounds
    from shipway.store.lease_store import LeaseStore
    from tests.serving.conftest import register_churn

    register_churn(sw)
    sw.deploy("live", model="churn", version=1)
    session = sw.session.current()
    settings = session.settings
    session.settings = dataclasses.replace(
        settings, serve=dataclasses.replace(settings.serve, retention_days=7)
    )
    now = time.time()
    _segments(session.stores.artifacts, (now // HOUR - 3) * HOUR, 3)
    _segments(session.stores.artifacts, now - 9 * 86400, 1)
    other = MonitoringRounds(session)
    assert LeaseStore(session.stores.db).claim(LEASE, "another-server", 60)
    assert other.upkeep() is None, "another process holds the lease: it keeps the log"
    LeaseStore(session.stores.db).release(LEASE, "another-server")
    done = other.upkeep()
    assert (done.hours, done.segments, done.expired) == (1, 3, 1)
    other.stop()
