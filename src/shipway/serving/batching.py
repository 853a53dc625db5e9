"""Adaptive micro-batching: requests that arrive together share one model call.

A request is counted as *arriving* from the moment the server starts reading it until it
is queued. The first queued request waits only while others are arriving, and never more
than ``max_wait_ms``: on an idle server nothing is arriving, so a lone request goes at once
and batching costs it no latency. Under concurrency the queue fills while the event loop
reads the other requests, and one call predicts up to ``max_batch`` rows. Nothing is ever
shed: a request that does not fit waits for the next batch.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


class MicroBatcher:
    def __init__(
        self,
        predict: Callable[[Any], Any],
        max_batch: int,
        max_wait_ms: float,
        arriving: Callable[[], int] = lambda: 0,
    ) -> None:
        self.predict = predict  # a validated frame -> predictions, one per row
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self.arriving = arriving  # how many requests are on their way to the model
        self.batches = 0
        self.rows = 0
        self._queue: list[tuple[Any, asyncio.Future[Any]]] = []
        self._queued_rows = 0
        self._running = False

    async def submit(self, frame: Any) -> Any:
        """Predict ``frame`` in a batch with whatever arrives with it."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((frame, future))
        self._queued_rows += len(frame)
        if not self._running:
            self._running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                deadline = time.perf_counter() + self.max_wait
                while (
                    self.arriving() > 0
                    and self._queued_rows < self.max_batch
                    and time.perf_counter() < deadline
                ):
                    await asyncio.sleep(0)  # let the loop read the requests that are arriving
                self._run_one()
                await asyncio.sleep(0)
        finally:
            self._running = False

    def _run_one(self) -> None:
        import numpy as np
        import pandas as pd

        taken: list[tuple[Any, Any]] = []
        rows = 0
        while self._queue and (not taken or rows + len(self._queue[0][0]) <= self.max_batch):
            frame, future = self._queue.pop(0)
            taken.append((frame, future))
            rows += len(frame)
        self._queued_rows -= rows
        try:
            frames = [f for f, _ in taken]
            batch = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
            outputs = np.asarray(self.predict(batch))
        except BaseException as exc:
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.rows += rows
        start = 0
        for frame, future in taken:
            if not future.done():
                future.set_result(outputs[start : start + len(frame)])
            start += len(frame)
