"""A real ``shipway server`` on loopback (uvicorn in a thread), and backends on both sides."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.config import Settings


class LiveServer:
    """``create_app(settings)`` served by uvicorn on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from shipway.server.app import create_app
        from shipway.server.runner import QuietServer

        self.app = create_app(settings)
        self.stores = self.app.state.session.stores
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = QuietServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:  # readiness, not timing: the deadline bounds a broken start
            assert self.thread.is_alive() and time.monotonic() < deadline, (
                "the server did not start"
            )
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.server.wake()
        self.thread.join(timeout=30)
        self.sock.close()


def client_settings(tmp_path: Path, url: str, **extra: Any) -> Settings:
    overrides = {"home": tmp_path / "client-home", "user": "tester", "tracking_uri": url, **extra}
    return Settings.resolve(overrides, environ={}, cwd=tmp_path)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    server = LiveServer(settings)
    yield server
    server.stop()


@pytest.fixture
def remote(live_server: LiveServer, tmp_path: Path) -> Iterator[Any]:
    """The fluent API pointed at the live server."""
    import shipway
    from shipway import session as context

    context._current = context.Session(client_settings(tmp_path, live_server.url))
    yield shipway
    context._current.close()
    context._current = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server_process(tmp_path: Path) -> tuple[Any, str]:
    """``shipway server`` in its own process on a fresh embedded store; returns it and its URL."""
    import os
    import subprocess
    import sys

    port = free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "server-home")}
    env.pop("SHIPWAY_TRACKING_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.app", "server", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(f"{url}/health/ready", process)
    return process, url


def wait_until_ready(url: str, process: Any, limit: float = 120) -> None:
    """Poll ``url`` until it answers 200; fail at once if ``process`` dies."""
    import httpx

    deadline = time.monotonic() + limit
    while True:  # readiness, not timing: the deadline bounds a broken start
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        assert time.monotonic() < deadline, f"{url} did not become ready"
        time.sleep(0.05)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")
