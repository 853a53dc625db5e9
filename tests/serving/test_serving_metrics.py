"""The model server's ``/metrics`` read by Prometheus's own parser: bounded label values, whole
counts across workers; and its access log in the combined format."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.client.conftest import free_port, wait_until_ready
from tests.conftest import stop_process
from tests.serving.conftest import register_churn

COMBINED = re.compile(
    r"^(?P<host>\S+) - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "
    r'"(?P<request>[^"\\]*(?:\\.[^"\\]*)*)" (?P<status>\d{3}) (?P<size>\d+|-) '
    r'"(?P<referer>[^"\\]*(?:\\.[^"\\]*)*)" "(?P<agent>[^"\\]*(?:\\.[^"\\]*)*)"$'
)


def _samples(text: str, metric: str) -> list[Any]:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == metric
    ]


def test_names_the_server_does_not_serve_create_no_series(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    record = churn.head(1).to_dict("records")
    assert client.post("/v1/models/live/predict", json=record).status_code == 200
    for name in ("aaa1", "<script>", "live2", "x" * 200):
        for path in (f"/v1/models/{name}/predict", f"/v2/models/{name}/infer"):
            assert client.post(path, json={"records": record}).status_code == 404
    text = client.get("/metrics").text
    labels = {
        s.labels.get("deployment")
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if "deployment" in s.labels
    }
    assert labels == {"live", "-"}, labels
    [unknown] = [
        s for s in _samples(text, "shipway_predict_errors_total") if s.labels["deployment"] == "-"
    ]
    assert unknown.value == 8 and unknown.labels["code"] == "404"


def test_two_workers_report_whole_counts_and_log_each_request(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """``shipway serve --workers 2 --access-log``: every scrape, whichever worker answers it,
    counts every request; stderr has one combined-format line per request."""
    import shipway as sw
    from shipway import session as context

    home = tmp_path / "home"
    monkeypatch.setenv("SHIPWAY_HOME", str(home))
    monkeypatch.setattr(context, "_current", None)
    try:
        frame = register_churn(sw, rows=30)
        sw.deploy("live", model="churn", version=1)
    finally:
        if context._current is not None:
            context._current.close()
    port = free_port()
    with (tmp_path / "stderr.txt").open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "shipway.cli.app", "serve", "live", "--port", str(port)]
            + ["--workers", "2", "--access-log"],
            env={**os.environ, "SHIPWAY_HOME": str(home)},
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    requests = 40
    try:
        wait_until_ready(f"{url}/v2/health/ready", process)
        record = frame.head(1).to_dict("records")
        for i in range(requests):  # a new connection each time, so both workers answer
            with httpx.Client(headers={"user-agent": f'agent "{i}"'}) as fresh:
                answer = fresh.post(f"{url}/v1/models/live/predict", json=record)
                assert answer.status_code == 200
        counted = set()
        for _ in range(8):
            with httpx.Client() as fresh:
                text = fresh.get(f"{url}/metrics").text
            samples = _samples(text, "shipway_predict_requests_total")
            counted.add(sum(s.value for s in samples))
        assert counted == {requests}, counted
    finally:
        stop_process(process)
    log = (tmp_path / "stderr.txt").read_text()
    lines = [m for m in map(COMBINED.match, log.splitlines()) if m]
    predicted = [m for m in lines if "/v1/models/live/predict" in m["request"]]
    assert len(predicted) == requests, log[-2000:]
    first = predicted[0]
    assert first["request"] == "POST /v1/models/live/predict HTTP/1.1"
    assert first["status"] == "200" and first["host"] == "127.0.0.1"
    assert first["agent"] == 'agent \\"0\\"'  # quotes escaped: no request forges a line


def test_both_servers_expose_the_process_series_dashboards_expect(
    sw: Any, churn: Any, serve: Any, settings: Any
) -> None:
    """Issue 23, item 18: process_* and python_*, as a default prometheus-client registry."""
    from fastapi.testclient import TestClient

    from shipway.server.app import create_app

    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    with TestClient(create_app(settings)) as platform:
        for text in (client.get("/metrics").text, platform.get("/metrics").text):
            assert _samples(text, "process_resident_memory_bytes")[0].value > 0
            assert _samples(text, "process_open_fds")[0].value > 0
            assert _samples(text, "python_info")[0].labels["major"] == "3"
