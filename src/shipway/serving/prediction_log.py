"""The prediction log: every prediction, written off the request path as Parquet segments.

Segments live in the artifact store under
``predictions/deployment=NAME/date=YYYY-MM-DD/hour=HH/<time>-<id>.parquet`` (Hive-style
partitions, so DuckDB's ``read_parquet('…/**/*.parquet', hive_partitioning=true)`` and
pyarrow datasets read them as one table). Ground truth arrives later under
``ground_truth/…`` in the same layout.

A request only appends its rows to a list; a background thread writes once a second. When
more than ``max_pending`` rows wait, new rows are dropped and counted, so memory stays bounded
and the server keeps answering. A clean shutdown writes everything; a kill loses at most the
last second.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

PREDICTIONS = "predictions"
GROUND_TRUTH = "ground_truth"


@dataclass
class _Pending:
    rows: list[Any] = field(default_factory=list)  # DataFrames
    count: int = 0


def partition(kind: str, deployment: str, when: float) -> str:
    stamp = time.gmtime(when)
    return (f"{kind}/deployment={deployment}/date={time.strftime('%Y-%m-%d', stamp)}"
            f"/hour={stamp.tm_hour:02d}")  # fmt: skip


class PredictionLog:
    def __init__(
        self, artifacts: Any, *, flush_seconds: float = 1.0, max_pending: int = 200_000
    ) -> None:
        self.artifacts = artifacts
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self.dropped = 0  # rows refused because the writer could not keep up
        self.written = 0
        self.failed_writes = 0
        self._pending: dict[tuple[str, str], _Pending] = defaultdict(_Pending)
        self._count = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(
            target=self._loop, name="shipway-prediction-log", daemon=True
        )
        self._thread.start()

    def append(self, kind: str, deployment: str, frame: Any, when: float | None = None) -> bool:
        """Queue rows for writing; False (and counted) when the log is full."""
        rows = len(frame)
        with self._lock:
            if self._count + rows > self.max_pending:
                self.dropped += rows
                return False
            pending = self._pending[(kind, partition(kind, deployment, when or time.time()))]
            pending.rows.append(frame)
            pending.count += rows
            self._count += rows
        return True

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_seconds)
            try:
                self.flush()
            except Exception as exc:  # a failing store must never stop serving
                log.warning("could not write the prediction log (will retry): %s", exc)

    def flush(self) -> None:
        import pandas as pd

        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, defaultdict(_Pending)
                self._count = 0
            for index, ((_kind, prefix), pending) in enumerate(batch.items()):
                frame = pd.concat(pending.rows, ignore_index=True)
                buffer = io.BytesIO()
                frame.to_parquet(buffer, index=False, compression="zstd")
                key = f"{prefix}/{time.time_ns()}-{uuid.uuid4().hex[:8]}.parquet"
                try:
                    self.artifacts.put_bytes(buffer.getvalue(), key)
                except Exception:
                    self.failed_writes += 1
                    with self._lock:  # put back what was not written, within the bound
                        for k, p in list(batch.items())[index:]:
                            if self._count + p.count <= self.max_pending:
                                self._pending[k].rows[:0] = p.rows
                                self._pending[k].count += p.count
                                self._count += p.count
                            else:
                                self.dropped += p.count
                    raise
                self.written += pending.count

    @property
    def pending(self) -> int:
        return self._count

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()


def read_log(artifacts: Any, kind: str, deployment: str) -> Any:
    """Every logged row of one deployment as a DataFrame (empty when nothing was logged)."""
    import pandas as pd

    keys = [k for k in artifacts.list(f"{kind}/deployment={deployment}") if k.endswith(".parquet")]
    frames = [pd.read_parquet(io.BytesIO(artifacts.read_bytes(k))) for k in sorted(keys)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
