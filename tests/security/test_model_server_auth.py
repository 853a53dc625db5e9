"""The model server follows the platform's rule: open only on loopback without tokens, and
once the store has a token, predictions and feedback need one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipway.errors import Unauthenticated
from shipway.serving.auth import ServingAuth
from shipway.store import open_stores
from shipway.store.token_store import TokenStore
from tests.client.conftest import free_port, wait_until_ready
from tests.conftest import stop_process
from tests.security.conftest import Secured
from tests.serving.conftest import error_message, oip_tensors, register_churn

RECORD = {"customer_id": 1, "spend": 1.0, "plan": "a"}


def _tokens(settings: Any) -> dict[str, str]:
    stores = open_stores(settings)
    made = {
        role: TokenStore(stores.db).create(f"{role}-user", role)[0]
        for role in ("predict", "viewer", "admin")
    }
    stores.close()
    return made


def test_once_a_token_exists_predictions_and_feedback_need_one(
    sw: Any, settings: Any, model_server: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    tokens = _tokens(settings)
    server = model_server("churn-live")
    calls = [
        ("POST", "/v1/models/churn-live/predict", {"records": [RECORD]}),
        ("POST", "/invocations", {"dataframe_records": [RECORD]}),
        (
            "POST",
            "/v2/models/churn-live/infer",
            {"inputs": oip_tensors(RECORD)},
        ),
        ("POST", "/v1/feedback", {"request_id": "someone-elses", "label": 0}),
        ("GET", "/v1/status", None),
        ("GET", "/v2/models/churn-live", None),
    ]
    with server.http() as anonymous, server.http(Authorization="Bearer sw_forged_x") as forged:
        for method, path, body in calls:
            for client in (anonymous, forged):
                refused = client.request(method, path, json=body)
                assert refused.status_code == 401, (path, refused.text)
                assert "token" in error_message(refused), path
                if not path.startswith("/v2"):
                    assert refused.json()["error"]["code"] == "UNAUTHENTICATED"
        for path in (
            "/v2/health/live",
            "/v2/health/ready",
            "/v2/models/churn-live/ready",
            "/metrics",
        ):
            assert anonymous.get(path).status_code == 200, path  # probes and scrapers
    for role in ("predict", "viewer", "admin"):
        with server.http(Authorization=f"Bearer {tokens[role]}") as caller:
            for method, path, body in calls:
                answer = caller.request(method, path, json=body)
                assert answer.status_code < 300, (role, path, answer.text)
    server.stop()
    labels = sw.read_predictions("churn-live", kind="ground_truth")
    assert len(labels) == 0, "a label for a request no server answered is kept nowhere"
    from shipway.serving.prediction_log import read_health

    records = read_health(sw.session.current().stores.artifacts, "churn-live")
    assert sum(r.get("unknown_labels", 0) for r in records) == 3, "but counted, per caller"


def test_a_revoked_token_stops_working(settings: Any) -> None:
    stores = open_stores(settings)
    tokens = TokenStore(stores.db)
    secret, info = tokens.create("caller", "predict")
    tokens.create("someone-else", "viewer")  # still active: the server keeps needing tokens
    auth = ServingAuth(tokens, ttl=0.0)  # no caching: the store's word, every time
    assert auth.check(f"Bearer {secret}").user == "caller"
    tokens.revoke(info.token_id)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.check(f"Bearer {secret}")
    stores.close()


def test_a_predict_token_reads_nothing_on_the_platform_server(secured: Secured) -> None:
    stores = open_stores(secured.server.app.state.tracking.settings)
    secret, _ = TokenStore(stores.db).create("scorer", "predict")
    stores.close()
    with secured.http(None) as http:
        http.headers["Authorization"] = f"Bearer {secret}"
        refused = http.get("/experiments")
        assert refused.status_code == 403 and "needs the viewer role" in refused.text


def test_request_ids_are_echoed_only_when_short_and_printable(sw: Any, model_server: Any) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    server = model_server("churn-live")
    with server.http() as http:
        for given, kept in (
            ("abc-123", True),
            ("x" * 128, True),
            ("x" * 129, False),
            ("a\tb", False),
            ("\x7f", False),
        ):
            answer = http.post(
                "/v1/models/churn-live/predict", json=[RECORD], headers={"x-request-id": given}
            )
            assert (answer.headers["x-request-id"] == given) is kept, given
            assert answer.json()["request_id"] == answer.headers["x-request-id"]
        oip = {
            "id": "é" * 3,
            "inputs": oip_tensors(RECORD),
        }
        answer = http.post("/v2/models/churn-live/infer", json=oip)
        assert answer.status_code == 200 and answer.json()["id"] != "é" * 3


def _serve(tmp_path: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHIPWAY_HOME": str(tmp_path / "home")}
    env.pop("SHIPWAY_TRACKING_URI", None)
    return subprocess.Popen(
        [sys.executable, "-m", "shipway.cli.app", "serve", "churn-live", *args],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_shipway_serve_binds_beyond_loopback_only_with_tokens(
    sw: Any, settings: Any, tmp_path: Path
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    refused = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(free_port()))
    _, err = refused.communicate(timeout=120)
    lines = err.decode().strip().splitlines()
    assert refused.returncode != 0 and len(lines) == 1, err.decode()
    assert "refusing to serve on 0.0.0.0 without authentication" in lines[0]
    _tokens(settings)
    port = free_port()
    allowed = _serve(tmp_path, "--host", "0.0.0.0", "--port", str(port))
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/v2/health/ready", allowed)
    finally:
        stop_process(allowed)
