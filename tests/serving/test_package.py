"""``shipway package``: a bundle that a fresh virtual environment installs and serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.client.conftest import free_port, wait_until_ready
from tests.conftest import stop_process


def test_a_bundle_installs_in_a_fresh_venv_and_serves(sw: Any, churn: Any, tmp_path: Path) -> None:
    from shipway.serving.package import package_model
    from shipway.session import current

    sw.promote("churn", 2, to="production")
    bundle = package_model(current().registry, "models:/churn@production", tmp_path / "bundle")
    requirements = (bundle / "requirements.txt").read_text()
    assert "shipway==" in requirements and "scikit-learn==" in requirements
    dockerfile = (bundle / "Dockerfile").read_text()
    assert (
        'CMD ["shipway", "serve", "churn"' in dockerfile
        and "ENV SHIPWAY_HOME=/app/store" in dockerfile
    )
    deployment, service = yaml.safe_load_all((bundle / "kubernetes.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert service["kind"] == "Service"
    with pytest.raises(Exception, match="not empty"):
        package_model(current().registry, "models:/churn/1", bundle)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "-r", "requirements.txt"],
        cwd=bundle,
        capture_output=True,
        text=True,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPWAY_")}
    env["SHIPWAY_HOME"] = str(bundle / "store")
    server = subprocess.Popen(
        [str(venv / "bin" / "shipway"), "serve", "churn", "--port", str(port)],
        cwd=bundle,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(f"{url}/v2/health/ready", server)
        answer = httpx.post(f"{url}/v1/models/churn/predict", json=churn.head(3).to_dict("records"))
        assert answer.status_code == 200 and answer.json()["predictions"] == [1, 1, 1], (
            "version 2's answers"
        )
    finally:
        stop_process(server)
