"""The metric buffer loses nothing when values arrive while it is being flushed."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from shipway.tracking.buffer import MetricBuffer
from shipway.types import Metric


def test_concurrent_adds_and_flushes_lose_nothing() -> None:
    written: list[Metric] = []
    lock = threading.Lock()

    def writer(run_id: str, metrics: Sequence[Metric], key: str) -> None:
        with lock:
            written.extend(metrics)

    buffer = MetricBuffer(writer, interval=0.001)
    done = threading.Event()

    def flusher() -> None:
        while not done.is_set():
            buffer.flush()

    def producer(worker: int) -> None:
        for step in range(20_000):
            buffer.add("run", Metric("m", float(worker), step))

    flushing = threading.Thread(target=flusher)
    flushing.start()
    producers = [threading.Thread(target=producer, args=(w,)) for w in range(4)]
    for p in producers:
        p.start()
    for p in producers:
        p.join()
    done.set()
    flushing.join()
    buffer.close()
    assert len(written) == 80_000
    assert sorted({(m.value, m.step) for m in written}) == sorted(
        {(float(w), s) for w in range(4) for s in range(20_000)}
    )


def test_a_failed_batch_is_sent_again_unchanged_with_its_key() -> None:
    """A server may have stored a batch whose answer was lost: the second send must be the
    same request under the same key, so the server recognises it."""
    attempts: list[tuple[list[int], str]] = []
    fail = {"once": True}

    def writer(run_id: str, metrics: Sequence[Metric], key: str) -> None:
        attempts.append(([m.step for m in metrics], key))
        if fail["once"]:
            fail["once"] = False
            raise OSError("store briefly unavailable")

    buffer = MetricBuffer(writer, interval=3600)
    for step in range(3):
        buffer.add("run", Metric("m", 1.0, step))
    with pytest.raises(OSError):
        buffer.flush()
    buffer.add("run", Metric("m", 1.0, 3))
    buffer.flush()
    (failed, first_key), (again, again_key), (newer, newer_key) = attempts
    assert failed == again == [0, 1, 2] and again_key == first_key
    assert newer == [3] and newer_key != first_key
    buffer.close()


def test_pending_values_are_bounded() -> None:
    """A writer that cannot keep up in the background makes the caller send: memory stays bounded."""
    written: list[int] = []
    high_water = [0]
    buffer = MetricBuffer(
        lambda _, metrics, _key: written.append(len(metrics)), interval=3600, max_pending=500
    )
    for step in range(2_000):
        buffer.add("run", Metric("m", 1.0, step))
        high_water[0] = max(high_water[0], len(buffer._pending))
    assert high_water[0] < 500 and sum(written) == 2_000 - len(buffer._pending)
    buffer.close()
    assert sum(written) == 2_000
