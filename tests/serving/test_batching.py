"""Micro-batching: requests that arrive together share a model call; a lone one never waits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pandas as pd
import pytest

from shipway.serving.batching import MicroBatcher


class Model:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, frame: pd.DataFrame) -> list[float]:
        self.calls.append(len(frame))
        if (frame["x"] < 0).any():
            raise ValueError("negative x")
        return (frame["x"] * 10).tolist()


def test_concurrent_requests_share_calls_and_get_their_own_rows() -> None:
    model = Model()

    async def main() -> list[Any]:
        batcher = MicroBatcher(model.predict, max_batch=8, max_wait_ms=50)
        frames = [pd.DataFrame({"x": [float(i), float(i) + 0.5]}) for i in range(10)]
        return await asyncio.gather(*(batcher.submit(f) for f in frames))

    results = asyncio.run(main())
    assert [list(r) for r in results] == [[i * 10.0, i * 10.0 + 5.0] for i in range(10)]
    assert sum(model.calls) == 20 and max(model.calls) <= 8 and len(model.calls) < 10


def test_a_lone_request_does_not_wait() -> None:
    model = Model()

    async def main() -> float:
        batcher = MicroBatcher(model.predict, max_batch=64, max_wait_ms=10_000, arriving=lambda: 0)
        loop = asyncio.get_running_loop()
        start = loop.time()
        await batcher.submit(pd.DataFrame({"x": [1.0]}))
        return loop.time() - start

    assert asyncio.run(main()) < 5, "nothing was arriving, so it went at once (not after 10 s)"
    assert model.calls == [1]


def test_a_failing_batch_fails_only_its_requests() -> None:
    model = Model()

    async def main() -> list[Any]:
        batcher = MicroBatcher(model.predict, max_batch=2, max_wait_ms=50)
        frames = [pd.DataFrame({"x": [v]}) for v in (1.0, -1.0, 2.0, 3.0)]
        return await asyncio.gather(*(batcher.submit(f) for f in frames), return_exceptions=True)

    first, second, third, fourth = asyncio.run(main())
    assert isinstance(first, ValueError) and isinstance(second, ValueError)
    assert list(third) == [20.0] and list(fourth) == [30.0]


@pytest.mark.parametrize("max_batch", [0, 16])
def test_the_server_batches_concurrent_requests(
    sw: Any, churn: Any, settings: Any, max_batch: int
) -> None:
    from shipway.serving.server import open_model_server

    sw.deploy("live", model="churn", version=1, max_batch=max_batch)
    server = open_model_server(settings, ["live"], log_predictions=False)
    server.state.refresh()
    records = churn.head(16).to_dict("records")

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            return await asyncio.gather(
                *(client.post("/v1/models/live/predict", json=[r]) for r in records)
            )

    answers = asyncio.run(main())
    assert [a.json()["predictions"] for a in answers] == [[0]] * 16

    async def status() -> Any:
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://serve") as client:
            return (await client.get("/v1/status")).json()["batching"]

    batching = asyncio.run(status())
    if max_batch:
        (entry,) = batching
        assert entry["rows"] == 16 and entry["batches"] < 16
    else:
        assert batching == []
    server.session.close()
    with pytest.raises(Exception, match="max-batch"):
        sw.deploy("live", model="churn", version=1, max_batch=-1)
