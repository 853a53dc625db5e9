"""Input that used to answer 5xx: deep JSON, non-finite timestamps, NUL characters, and many
clients creating one experiment at once. Each is a 4xx with the usual error body now, or, for
the race, a success."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.security.conftest import Secured
from tests.serving.conftest import error_message, register_churn

DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000


def _is_4xx(answer: httpx.Response, what: str) -> str:
    """The message of a 4xx answer, which must have one."""
    assert 400 <= answer.status_code < 500, (what, answer.status_code, answer.text[:300])
    message = error_message(answer)
    assert message, what
    return message


def test_json_nested_a_thousand_deep_is_a_400(secured_any: Secured) -> None:
    with secured_any.http("ed") as http:
        run = http.post("/runs", json={"experiment": "deep"}).json()
        for path in (
            "/environments",
            "/experiments",
            "/runs",
            "/runs/search",
            f"/runs/{run['run_id']}/log-batch",
            "/models/m/versions",
        ):
            for body in (DEEP_ARRAY, DEEP_OBJECT):
                answer = http.post(path, content=body, headers={"content-type": "application/json"})
                _is_4xx(answer, path)


def test_json_nested_a_thousand_deep_is_a_400_on_the_model_server(
    sw: Any, model_server: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    server = model_server("churn-live")
    with server.http() as http:
        for path in (
            "/v1/models/churn-live/predict",
            "/v2/models/churn-live/infer",
            "/invocations",
            "/v1/feedback",
        ):
            for body in (DEEP_ARRAY, DEEP_OBJECT):
                answer = http.post(path, content=body, headers={"content-type": "application/json"})
                assert "nested too deeply" in _is_4xx(answer, path)
        nested_key = {"key": {"customer_id": [[[1]]]}, "label": 1}
        _is_4xx(http.post("/v1/feedback", json=nested_key), "a key that is not a value")
        assert http.get("/v2/health/live").status_code == 200


def test_non_finite_timestamps_are_a_400(secured_any: Secured) -> None:
    with secured_any.http("ed") as http:
        run = http.post("/runs", json={"experiment": "time"}).json()
        for stamp in ("NaN", "Infinity", "-1"):
            metric = '{"key": "m", "value": 1, "step": 0, "timestamp": ' + stamp + "}"
            body = '{"metrics": [' + metric + "]}"
            answer = http.post(
                f"/runs/{run['run_id']}/log-batch",
                content=body,
                headers={"content-type": "application/json"},
            )
            assert "timestamp" in _is_4xx(answer, stamp)
        assert http.get(f"/runs/{run['run_id']}/metrics/m").json() == []


def test_nul_characters_are_a_400_on_every_backend(secured_any: Secured) -> None:
    with secured_any.http("ed") as http:
        run = http.post("/runs", json={"experiment": "nul"}).json()
        rid = run["run_id"]
        probes = [
            ("GET", "/experiments/a%00b", None),
            ("GET", "/models/a%00b", None),
            ("GET", f"/runs/{rid}%00", None),
            ("POST", "/experiments", {"name": "a\x00b"}),
            ("POST", "/runs", {"experiment": "nul", "name": "x\x00"}),
            ("POST", "/runs", {"experiment": "n\x00l"}),
            ("POST", f"/runs/{rid}/log-batch", {"params": {"p": "x\x00"}}),
            ("POST", f"/runs/{rid}/log-batch", {"tags": {"t": "x\x00"}}),
            ("POST", f"/runs/{rid}/log-batch", {"tags": {"t\x00": "x"}}),
            ("POST", "/runs/search", {"filter": "tags.t = 'a\x00'"}),
            ("POST", "/runs/search", {"filter": "params.p = 'x'", "experiments": ["a\x00"]}),
        ]
        for method, path, body in probes:
            _is_4xx(http.request(method, path, json=body), f"{method} {path} {body}")
        stored = http.get(f"/runs/{rid}").json()
        assert stored["params"] == {} and stored["name"] != "x\x00"
        assert not any("\x00" in k or "\x00" in v for k, v in stored["tags"].items())


def test_many_clients_creating_one_experiment_at_once(secured_any: Secured) -> None:
    def create_run(i: int) -> int:
        with secured_any.http("ed") as http:
            return http.post("/runs", json={"experiment": "race", "name": f"r{i}"}).status_code

    def create_experiment(i: int) -> int:
        with secured_any.http("ed") as http:
            return http.post("/experiments", json={"name": "race-too"}).status_code

    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(create_run, range(40)))
        experiments = list(pool.map(create_experiment, range(40)))
    assert runs == [201] * 40
    assert experiments.count(201) == 1 and set(experiments) == {201, 409}
    with secured_any.http("vera") as http:
        found = http.post("/runs/search", json={"experiments": ["race"], "max_results": 100}).json()
        names = [e["name"] for e in http.get("/experiments").json()]
    assert len(found) == 40 and names.count("race") == 1 and names.count("race-too") == 1
