"""The smaller points: bodies over the limit, deployments of missing files, settings that are
not usable, partial output, the ``latest`` alias, and monitoring windows that mean nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipway.errors import InvalidArgument, NotFound
from tests.client.conftest import peak_rss_mb, start_server_process
from tests.conftest import stop_process
from tests.security.conftest import Secured
from tests.serving.conftest import register_churn, start_model_server_process

MiB = 2**20


def _chunks(total: int) -> Iterator[bytes]:
    """A chunked (no content-length) JSON-looking body of ``total`` bytes."""
    for _ in range(total // MiB):
        yield b"[" + b" " * (MiB - 1)


def _refused_and_memory(url: str, pid: int, total: int) -> float:
    before = peak_rss_mb(pid)
    answer = httpx.post(
        url, content=_chunks(total), headers={"content-type": "application/json"}, timeout=120
    )
    assert answer.status_code == 413, answer.text[:200]
    assert answer.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    return peak_rss_mb(pid) - before


def test_a_chunked_body_over_the_limit_is_a_413_read_no_further(
    sw: Any, settings: Any, tmp_path: Path
) -> None:
    server, url = start_server_process(tmp_path)
    try:
        grew = _refused_and_memory(f"{url}/api/v1/experiments", server.pid, 200 * MiB)
    finally:
        stop_process(server)
    assert grew < 80, f"the platform server grew by {grew:.0f} MiB for a refused body"

    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    model_server, port = start_model_server_process(settings, tmp_path, "churn-live")
    try:
        predict = f"http://127.0.0.1:{port}/v1/models/churn-live/predict"
        grew = _refused_and_memory(predict, model_server.pid, 200 * MiB)
    finally:
        stop_process(model_server)
    assert grew < 80, f"the model server grew by {grew:.0f} MiB for a refused body"


def _model_key(sw: Any, version: Any, file: str) -> str:
    from shipway.session import current

    run = current().tracking.get_run(version.run_id)
    return f"{run.experiment_id}/{run.run_id}/artifacts/model/{file}"


def test_deploying_a_version_whose_files_are_gone_is_refused(sw: Any) -> None:
    from shipway.session import current

    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    gone = sw.get_model_version("churn", 2)
    current().stores.artifacts.delete(_model_key(sw, gone, "model.pkl"))
    for strategy in ("direct", "canary", "blue-green"):
        with pytest.raises(NotFound, match="churn version 2 cannot be served"):
            sw.deploy("churn-live", model="churn", version=2, strategy=strategy, weight=10)
    stored = sw.get_deployment("churn-live")
    assert stored.stable == 1 and stored.candidate is None and stored.revision == 1


def _shipway(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home"), **env}
    if "SHIPWAY_TRACKING_URI" not in env:
        environ.pop("SHIPWAY_TRACKING_URI", None)
    return subprocess.run(
        [sys.executable, "-m", "shipway.cli.app", *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unusable_settings_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "shipway.toml").write_text("[store]\ntracking_uri = 5\n")
    (tmp_path / "not-sqlite.db").write_text("this is not a database")
    (tmp_path / "a-file").write_text("x")
    cases = {
        "tracking_uri = 5": (tmp_path / "project", {}),
        "not SQLite": (
            tmp_path,
            {"SHIPWAY_TRACKING_URI": f"sqlite:///{tmp_path / 'not-sqlite.db'}"},
        ),
        "home is a file": (tmp_path, {"SHIPWAY_HOME": str(tmp_path / "a-file")}),
    }
    for what, (where, env) in cases.items():
        done = _shipway(where, "runs", "list", **env)
        lines = done.stderr.strip().splitlines()
        assert done.returncode != 0 and len(lines) == 1, (what, done.stderr)
        assert "Traceback" not in done.stderr and lines[0].startswith("error:"), what


def test_a_failed_download_or_package_leaves_nothing_behind(sw: Any, tmp_path: Path) -> None:
    from shipway.errors import IntegrityError
    from shipway.serving.package import package_model
    from shipway.session import current

    register_churn(sw)
    version = sw.get_model_version("churn", 1)
    current().stores.artifacts.put_bytes(b"altered", _model_key(sw, version, "requirements.txt"))
    out = tmp_path / "downloads"
    with pytest.raises(IntegrityError):
        current().tracking.download_artifacts(version.run_id, "model", out)
    assert list(out.iterdir()) == [], "no half-downloaded model, no staging folder"
    bundle = tmp_path / "bundles" / "churn"
    with pytest.raises(IntegrityError):
        package_model(current().registry, "models:/churn/1", bundle)
    assert not bundle.exists() and list(bundle.parent.iterdir()) == []


def test_an_alias_named_latest_is_refused(sw: Any, secured: Secured) -> None:
    register_churn(sw)
    for name in ("latest", "Latest", "production", "3"):
        with pytest.raises(InvalidArgument, match="cannot be an alias"):
            sw.set_alias("churn", name, 1)
    with secured.http("apollo") as http:
        refused = http.put("/models/churn/aliases/latest", json={"version": 1})
        assert refused.status_code == 400 and "cannot be an alias" in refused.text
    assert sw.get_model_version("churn", 1).aliases == ()
    assert sw.load_model("models:/churn@latest") is not None  # still means the newest version


def test_monitoring_windows_that_mean_nothing_are_a_400(secured: Secured) -> None:
    with secured.http("vera") as http:
        for window in ("abc", "0", "-5", "1.5"):
            answer = http.get("/monitoring/nothing-yet/windows", params={"window": window})
            assert answer.status_code == 400, (window, answer.text)
            assert "window" in answer.json()["error"]["message"]
