"""A registered model with two versions, and model servers for it: in-process (``serve``)
and live on a loopback port (``model_server``), for clients that need a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from shipway.config import Settings


def error_message(answer: Any) -> str:
    """An error answer's message, in the shape its path promises: the protocol's
    ``{"error": "message"}`` under ``/v2``, shipway's ``{"error": {"code", "message"}}`` elsewhere."""
    error = answer.json()["error"]
    if answer.request.url.path.startswith("/v2"):
        assert isinstance(error, str), error
        return error
    assert error["code"], error
    return str(error["message"])


def oip_tensors(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One record as OIP JSON tensors, each with the datatype of its value."""

    def datatype(value: Any) -> str:
        if isinstance(value, bool):
            return "BOOL"
        if isinstance(value, int):
            return "INT64"
        return "FP64" if isinstance(value, float) else "BYTES"

    return [
        {"name": k, "shape": [1], "datatype": datatype(v), "data": [v]} for k, v in record.items()
    ]


def register_churn(sw: Any, rows: int = 40) -> Any:
    """``churn`` versions 1 and 2: two classifiers that disagree, so answers show who answered;
    returns the frame they were fitted on."""
    import numpy as np
    import pandas as pd
    from sklearn.dummy import DummyClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(rows),
            "spend": rng.normal(size=rows),
            "plan": rng.choice(["a", "b"], size=rows),
        }
    )
    for label in (0, 1):
        model = DummyClassifier(strategy="constant", constant=label).fit(
            frame, np.full(rows, label)
        )
        with sw.start_run(experiment="churn") as run:
            run.log_model(model, "model", input_example=frame.head())
        sw.register_model(run, "churn")
    return frame


@pytest.fixture
def churn(sw: Any) -> Any:
    """``churn`` versions 1 and 2 in the test's store (see :func:`register_churn`)."""
    return register_churn(sw)


@pytest.fixture
def serve(sw: Any, settings: Settings) -> Iterator[Any]:
    """Open a model server for targets; ``client, server = serve('churn-live')``."""
    from shipway.serving.server import open_model_server

    opened: list[Any] = []

    def start(*targets: str, log_predictions: bool = True) -> tuple[TestClient, Any]:
        server = open_model_server(
            settings, list(targets), log_predictions=log_predictions, poll_seconds=3600
        )  # tests refresh by hand
        client = TestClient(server.app, raise_server_exceptions=False)
        client.__enter__()
        opened.append((client, server))
        return client, server

    yield start
    for client, server in opened:
        client.__exit__(None, None, None)
        server.session.close()


class LiveModelServer:
    """``open_model_server(settings, targets)`` served by uvicorn on a free loopback port."""

    def __init__(self, settings: Settings, targets: list[str], **options: Any) -> None:
        import socket
        import threading
        import time

        import uvicorn

        from shipway.server.runner import QuietServer
        from shipway.serving.server import open_model_server

        self.model_server = open_model_server(settings, targets, poll_seconds=3600, **options)
        self.log = self.model_server.log
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(self.model_server.app, log_level="warning", lifespan="on")
        self.server = QuietServer(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:  # readiness, not timing: the deadline bounds a broken start
            assert self.thread.is_alive() and time.monotonic() < deadline, "no model server"
            time.sleep(0.01)

    def http(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        """A clean stop: the log writes everything it holds."""
        self.server.should_exit = True
        self.server.wake()
        self.thread.join(timeout=60)
        self.sock.close()
        self.model_server.session.close()


@pytest.fixture
def model_server(settings: Settings) -> Iterator[Any]:
    """Start live model servers over the test's store: ``model_server("churn-live")``."""
    started: list[LiveModelServer] = []

    def start(*targets: str, **options: Any) -> LiveModelServer:
        server = LiveModelServer(settings, list(targets), **options)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.thread.is_alive():
            server.stop()


def start_model_server_process(settings: Settings, cwd: Path, deployment: str) -> tuple[Any, int]:
    """``shipway serve DEPLOYMENT`` in a process of its own over the test's embedded store,
    ready to answer; returns the process and its port."""
    import os
    import subprocess
    import sys

    from tests.client.conftest import free_port, wait_until_ready

    port = free_port()
    env = {**os.environ, "SHIPWAY_HOME": str(settings.home)}
    env.pop("SHIPWAY_TRACKING_URI", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.app", "serve", deployment, "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_until_ready(f"http://127.0.0.1:{port}/v2/health/ready", process)
    return process, port


def predict_as(client: Any, token: str, records: list[dict[str, Any]], times: int) -> None:
    """``times`` requests of ``records`` to churn-live, each with ``token``; all answered."""
    for _ in range(times):
        answer = client.post(
            "/v1/models/churn-live/predict",
            json=records,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert answer.status_code == 200, answer.text
