"""The quiet uvicorn runner: a Date header made on demand, and a main loop that sleeps."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest

from shipway.config import Settings
from shipway.server import runner
from tests.client.conftest import LiveServer


def test_the_date_header_is_made_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_800_000_000.2]
    monkeypatch.setattr(runner.time, "time", lambda: clock[0])
    state = runner.LazyDateState()
    assert state.default_headers == []
    state.default_headers = [(b"date", b"stale"), (b"server", b"shipway")]
    first = state.default_headers
    assert first[1] == (b"server", b"shipway")
    assert parsedate_to_datetime(first[0][1].decode()).timestamp() == 1_800_000_000
    clock[0] += 0.5
    assert state.default_headers is first, "within the same second the headers are reused"
    clock[0] += 61
    assert parsedate_to_datetime(state.default_headers[0][1].decode()).timestamp() == 1_800_000_061
    state.default_headers = [(b"server", b"shipway")]  # date_header=False in uvicorn's config
    assert state.default_headers == [(b"server", b"shipway")]


def test_responses_carry_the_date_and_shutdown_is_immediate(settings: Settings) -> None:
    server = LiveServer(settings)
    try:
        response = httpx.get(f"{server.url}/health/live")
        assert response.status_code == 200 and parsedate_to_datetime(response.headers["date"])
    finally:
        server.server.should_exit = True
        server.server.wake()
        # Far below the safety tick: the wake, not the timer, ended the loop.
        server.thread.join(timeout=runner.SAFETY_TICK / 2)
        stopped = not server.thread.is_alive()
        server.stop()
    assert stopped
