"""The REST API as a client uses it: every route, and every bad input a 4xx with a JSON error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipway.config import Settings
from shipway.server.app import API, create_app


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code and body["message"]
    return body["message"]


def test_health_metrics_and_openapi(api: TestClient) -> None:
    assert api.get("/health/live").json() == {"status": "live"}
    ready = api.get("/health/ready").json()
    assert ready == {"status": "ready", "checks": {"metadata": "ok", "artifacts": "ok"}}
    document = api.get(f"{API}/openapi.json").json()
    assert (
        f"{API}/runs/{{run_id}}/log-batch" in document["paths"]
        and document["info"]["title"] == "shipway"
    )
    api.get(f"{API}/experiments")
    assert (
        'shipway_api_requests_total{method="GET",route="/api/v1/experiments",status="200"} 1.0'
        in api.get("/metrics").text
    )


def test_the_openapi_document_says_what_the_server_does(api: TestClient) -> None:
    document = api.get(f"{API}/openapi.json").json()
    untyped, unprocessable = [], []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if "422" in responses:
                unprocessable.append((method, path))
            for status, answer in responses.items():
                if not status.startswith("2") or status == "204":
                    continue
                schemas = [c.get("schema") or {} for c in answer.get("content", {}).values()]
                if not schemas or any(
                    s in ({}, {"type": "object", "additionalProperties": True})
                    or s.get("items") == {}
                    or (s.get("additionalProperties") is True and "properties" not in s)
                    for s in schemas
                ):
                    untyped.append((method, path, status))
    assert unprocessable == [], "errors are 400s with the error body, never FastAPI's 422"
    assert untyped == [], f"answers without a type: {untyped}"
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert {"token": []} in document["security"]
    assert document["paths"]["/health/ready"]["get"]["security"] == []
    named = {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}
    metrics = document["components"]["schemas"]["Run"]["properties"]["metrics"]
    assert named in metrics["additionalProperties"]["anyOf"], "NaN metrics travel by name"
    for docs in (f"{API}/docs", f"{API}/redoc"):  # Swagger and ReDoc load from a CDN
        assert api.get(docs).status_code == 404


def test_tracking_round_trip(api: TestClient) -> None:
    experiment = api.post(f"{API}/experiments", json={"name": "churn", "tags": {"team": "growth"}})
    assert experiment.status_code == 201
    run = api.post(
        f"{API}/runs", json={"experiment": "churn", "name": "r1", "params": {"lr": 0.1}}
    ).json()
    run_id = run["run_id"]
    batch = {
        "metrics": [{"key": "loss", "value": 1 / (i + 1), "step": i} for i in range(5)],
        "params": {"depth": 3},
        "tags": {"t": "x"},
    }
    assert api.post(f"{API}/runs/{run_id}/log-batch", json=batch).status_code == 204
    ended = api.post(f"{API}/runs/{run_id}/end", json={"status": "FINISHED"}).json()
    assert (
        ended["status"] == "FINISHED"
        and ended["params"] == {"lr": "0.1", "depth": "3"}
        and ended["metrics"]["loss"] == 0.2
    )
    history = api.get(f"{API}/runs/{run_id}/metrics/loss").json()
    assert [m["step"] for m in history] == [0, 1, 2, 3, 4]
    found = api.post(
        f"{API}/runs/search",
        json={"experiments": ["churn"], "filter": "params.lr > 0.05 and metrics.loss < 0.5"},
    ).json()
    assert [r["run_id"] for r in found] == [run_id]
    assert api.get(f"{API}/experiments").json()[0]["runs"] == 1


def test_registry_round_trip(api: TestClient, sw: Any) -> None:
    from sklearn.dummy import DummyClassifier

    with sw.start_run(experiment="m") as run:
        run.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), "model")
    created = api.post(f"{API}/models/churn/versions", json={"source": f"runs:/{run.run_id}/model"})
    assert created.status_code == 201 and created.json()["version"] == 1
    api.post(f"{API}/models/churn/versions", json={"source": run.run_id})
    assert (
        api.put(f"{API}/models/churn/policy", json={"required_approvals": 1}).json()[
            "required_approvals"
        ]
        == 1
    )
    message = _error(
        api.post(f"{API}/models/churn/versions/1/stage", json={"stage": "production"}),
        403,
        "POLICY_VIOLATION",
    )
    assert "needs 1 approval" in message
    assert (
        api.post(f"{API}/models/churn/versions/1/approvals", json={"comment": "ok"}).status_code
        == 201
    )
    assert (
        api.post(
            f"{API}/models/churn/versions/1/stage", json={"stage": "production", "reason": "r"}
        ).json()["stage"]
        == "production"
    )
    api.post(f"{API}/models/churn/versions/2/approvals", json={})
    api.post(f"{API}/models/churn/versions/2/stage", json={"stage": "production"})
    assert api.put(f"{API}/models/churn/aliases/champion", json={"version": 2}).json()[
        "aliases"
    ] == ["champion"]
    assert api.post(f"{API}/models/churn/rollback", json={"reason": "bad"}).json()["version"] == 1
    assert api.delete(f"{API}/models/churn/aliases/champion").status_code == 204
    actions = [e["action"] for e in api.get(f"{API}/models/churn/history").json()]
    assert actions[-2:] == ["rollback", "delete_alias"]
    listed = api.get(f"{API}/models").json()
    assert listed[0]["stages"] == {"production": 1}
    assert api.get(f"{API}/models/churn").json()["versions"][1]["stage"] == "archived"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/runs/" + "0" * 32, None, 404, "NOT_FOUND"),
        ("get", "/experiments/nope", None, 404, "NOT_FOUND"),
        ("post", "/experiments", {"name": ""}, 400, "INVALID_ARGUMENT"),
        ("post", "/experiments", {"name": "x", "unknown": 1}, 400, "INVALID_ARGUMENT"),
        ("post", "/runs/search", {"filter": "metrics.auc >"}, 400, "INVALID_FILTER"),
        ("post", "/runs/search", {"max_results": 0}, 400, "INVALID_ARGUMENT"),
        ("post", "/runs/search", {"experiments": "not-a-list"}, 400, "INVALID_ARGUMENT"),
        ("get", "/models/ghost", None, 404, "NOT_FOUND"),
        ("post", "/models/ghost/versions/1/stage", {"stage": "prod"}, 400, "INVALID_ARGUMENT"),
        ("get", "/models/ghost/versions/x", None, 400, "INVALID_ARGUMENT"),
        ("get", "/no/such/route", None, 404, "NOT_FOUND"),
    ],
)
def test_bad_requests_are_4xx_with_a_json_error(
    api: TestClient, method: str, path: str, body: Any, status: int, code: str
) -> None:
    url = path if path.startswith("/no/") else f"{API}{path}"
    response = (
        getattr(api, method)(url, json=body) if body is not None else getattr(api, method)(url)
    )
    _error(response, status, code)


def test_malformed_and_oversized_bodies(api: TestClient) -> None:
    raw = api.post(
        f"{API}/experiments", content=b"{not json", headers={"content-type": "application/json"}
    )
    _error(raw, 400, "INVALID_ARGUMENT")
    run = api.post(f"{API}/runs", json={"experiment": "e"}).json()
    nan = api.post(  # JSON has no NaN: the name as MLflow spells it, or the bare token
        f"{API}/runs/{run['run_id']}/log-batch",
        content=b'{"metrics": [{"key": "x", "value": NaN}, {"key": "y", "value": "-Infinity"}]}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 204
    stored = api.get(f"{API}/runs/{run['run_id']}").json()["metrics"]
    assert stored == {"x": "NaN", "y": "-Infinity"}
    _error(
        api.post(
            f"{API}/runs/{run['run_id']}/log-batch",
            json={"metrics": [{"key": "z", "value": "lots"}]},
        ),
        400,
        "INVALID_ARGUMENT",
    )
    conflict = api.post(f"{API}/runs/{run['run_id']}/log-batch", json={"params": {"a": 1}})
    assert conflict.status_code == 204
    _error(
        api.post(f"{API}/runs/{run['run_id']}/log-batch", json={"params": {"a": 2}}),
        409,
        "CONFLICT",
    )
    huge = api.post(
        f"{API}/experiments",
        content=b"x" * (33 * 2**20),
        headers={"content-type": "application/json"},
    )
    _error(huge, 413, "PAYLOAD_TOO_LARGE")
    assert api.get(f"{API}/runs/{run['run_id']}").json()["params"] == {"a": "1"}, (
        "rejected writes change nothing"
    )
