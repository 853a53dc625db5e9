"""Buffered metric logging: calls are cheap, writes are batched.

Values wait in memory and are written in one transaction per run at least every
``interval`` seconds by a background thread, on :meth:`MetricBuffer.flush`, at the end of a
run and at process exit, so a crash loses at most the last interval.

Each write is a batch with a key of its own. A batch that fails is sent again later exactly
as it was, with the same key, so a server that stored it but never answered recognises the
second send and does not store the values twice.
"""

from __future__ import annotations

import atexit
import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence

from shipway.types import Metric

log = logging.getLogger(__name__)

Writer = Callable[[str, Sequence[Metric], str], None]  # run id, values, the batch's key
_MAX_PENDING = 1_000_000  # beyond this a call flushes in the foreground: bounded memory


class MetricBuffer:
    def __init__(
        self, writer: Writer, interval: float = 1.0, max_pending: int = _MAX_PENDING
    ) -> None:
        self._writer = writer
        self._max_pending = max_pending
        self._interval = interval
        self._pending: list[tuple[str, Metric]] = []
        self._unsent: list[tuple[str, list[Metric], str]] = []  # failed batches, with their keys
        self._lock = threading.Lock()  # guards the pending list; never held while writing
        self._flush_lock = threading.Lock()  # one writer at a time keeps the order of steps
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        atexit.register(self.close)

    def add(self, run_id: str, metric: Metric) -> None:
        with self._lock:  # without it an append could land in a list flush() already read
            self._pending.append((run_id, metric))
        if self._thread is None:
            self._start()
        if len(self._pending) + sum(len(m) for _, m, _ in self._unsent) >= self._max_pending:
            self.flush()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="shipway-metrics", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception as exc:  # kept and re-raised by the next foreground flush
                log.warning("shipway could not write buffered metrics (will retry): %s", exc)

    def flush(self, run_id: str | None = None) -> None:
        """Write everything pending (all runs; ``run_id`` is accepted for symmetry)."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                unsent, self._unsent = self._unsent, []
            by_run: dict[str, list[Metric]] = defaultdict(list)
            for rid, metric in batch:
                by_run[rid].append(metric)
            # Batches that failed before go first, unchanged, so their steps stay in order.
            batches = unsent + [(rid, metrics, uuid.uuid4().hex) for rid, metrics in by_run.items()]
            for index, (rid, metrics, key) in enumerate(batches):
                try:
                    self._writer(rid, metrics, key)
                except BaseException:
                    with self._lock:  # sent again later, each with its own key
                        self._unsent = batches[index:] + self._unsent
                    raise

    def discard(self, run_id: str) -> None:
        with self._lock:
            self._pending = [(r, m) for r, m in self._pending if r != run_id]
            self._unsent = [u for u in self._unsent if u[0] != run_id]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        except Exception as exc:
            log.warning("shipway could not write buffered metrics at exit: %s", exc)
