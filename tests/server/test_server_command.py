"""``shipway server`` as a real process: it starts, answers, and refuses unsafe binds."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import stop_process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, command: str, port: int, **env: str) -> subprocess.Popen[bytes]:
    """``shipway COMMAND --port PORT`` in its own process, on a store in ``tmp_path``."""
    environment = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), **env}
    environment.pop("SHIPWAY_TRACKING_URI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.app", command, "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_server_starts_and_answers(tmp_path: Path) -> None:
    port = _free_port()
    process = _start(tmp_path, "server", port)
    try:
        deadline = time.monotonic() + 60
        while True:  # poll until it answers; the deadline only bounds a broken start
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, (
                    process.stderr.read().decode() if process.stderr else ""
                )
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
        assert response.json()["status"] == "ready"
        created = httpx.post(f"http://127.0.0.1:{port}/api/v1/experiments", json={"name": "remote"})
        assert created.status_code == 201
    finally:
        stop_process(process)


def test_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", "server", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env={**os.environ, "SHIPWAY_HOME": str(tmp_path)},
        timeout=60,
    )
    assert (
        done.returncode == 2
        and "refusing to serve on 0.0.0.0 without authentication" in done.stderr
    )
    assert "Traceback" not in done.stderr


def test_shipway_ui_serves_the_page_of_this_folders_store(tmp_path: Path) -> None:
    """``shipway ui`` (as ``mlflow ui``): the embedded store on loopback, the page at ``/``, and
    a browser pointed at it (here a stand-in that writes down the address it was given)."""
    from tests.client.conftest import wait_until_ready

    port = _free_port()
    opened = tmp_path / "opened.txt"
    fake_browser = tmp_path / "browser.sh"
    fake_browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    fake_browser.chmod(0o755)
    process = _start(tmp_path, "ui", port, BROWSER=str(fake_browser))
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health/ready", process)
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and '<div id="app">' in page.text
        deadline = time.monotonic() + 30
        while not opened.exists():  # the browser is opened once the server answers
            assert time.monotonic() < deadline, "no browser was opened"
            time.sleep(0.05)
        assert opened.read_text().strip() == f"http://localhost:{port}/"
        process.terminate()
        out, _ = process.communicate(timeout=60)
        assert f"the UI: http://localhost:{port}/" in out.decode()
    finally:
        stop_process(process)
