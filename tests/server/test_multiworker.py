"""Several server workers on one PostgreSQL store, several clients at once: nothing is lost,
version numbers stay distinct."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.client.conftest import wait_until_ready
from tests.conftest import stop_process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_workers_two_servers_one_postgres_store(postgres_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHIPWAY_HOME": str(tmp_path / "home"),
        "SHIPWAY_TRACKING_URI": postgres_url,
        "SHIPWAY_ARTIFACT_URI": str(tmp_path / "artifacts"),
    }
    ports = [_free_port(), _free_port()]
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shipway.cli.app",
                "server",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port, workers in zip(ports, (2, 1), strict=True)
    ]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_ready(f"http://127.0.0.1:{port}/health/ready", server, limit=90)
        bases = [f"http://127.0.0.1:{p}/api/v1" for p in ports]
        run_ids = [
            httpx.post(
                f"{bases[i % 2]}/runs", json={"experiment": "shared", "name": f"r{i}"}
            ).json()["run_id"]
            for i in range(4)
        ]

        def log(job: int) -> int:
            run_id, base = run_ids[job % 4], bases[job % 2]
            with httpx.Client() as client:
                for batch in range(10):
                    metrics = [
                        {"key": "loss", "value": float(job), "step": batch * 50 + i}
                        for i in range(50)
                    ]
                    assert (
                        client.post(
                            f"{base}/runs/{run_id}/log-batch",
                            json={"metrics": metrics, "tags": {f"job{job}": "1"}},
                        ).status_code
                        == 204
                    )
            return job

        with ThreadPoolExecutor(8) as pool:
            assert sorted(pool.map(log, range(8))) == list(range(8))
        for run_id in run_ids:
            history = httpx.get(f"{bases[0]}/runs/{run_id}/metrics/loss").json()
            assert len(history) == 2 * 500, "two jobs logged 500 values each into every run"
        # Registration needs a logged model; version numbering is what is tested here, through both servers.
        from shipway.config import Settings
        from shipway.store import open_stores

        stores = open_stores(
            Settings.resolve(
                {
                    "tracking_uri": postgres_url,
                    "artifact_uri": str(tmp_path / "artifacts"),
                    "home": tmp_path / "home",
                },
                environ={},
            )
        )
        for run_id in run_ids:
            stores.tracking.log_batch(run_id, tags={"shipway.logged_models": "model"})
        stores.close()

        def register(i: int) -> int:
            response = httpx.post(
                f"{bases[i % 2]}/models/shared/versions", json={"source": run_ids[i % 4]}
            )
            assert response.status_code == 201, response.text
            return int(response.json()["version"])

        with ThreadPoolExecutor(8) as pool:
            versions = sorted(pool.map(register, range(8)))
        assert versions == list(range(1, 9))
    finally:
        for server in servers:
            stop_process(server)
