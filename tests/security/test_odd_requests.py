"""Requests that were 500s: a NUL in an artifact path, and one input named twice in one
request on PostgreSQL. Each is a 4xx or is taken as meant, on every metadata backend, and
the connection serves the next request (issue 22, item 9)."""

from __future__ import annotations

from typing import Any

from tests.security.conftest import Secured


def test_a_control_character_in_an_artifact_path_is_a_400(secured_any: Secured) -> None:
    with secured_any.http("ed") as http:
        run = http.post("/experiments", json={"name": "odd"})
        assert run.status_code in (200, 201), run.text
        run_id = http.post("/runs", json={"experiment": "odd"}).json()["run_id"]
        # (a newline never matches the route's path: a 404 before any store is asked)
        newline = http.put(f"/runs/{run_id}/artifacts/line%0Abreak.txt", content=b"x")
        assert newline.status_code in (400, 404), newline.text
        for path in ("model%00.pkl", "a/%00/b", "tab%09.txt", "del%7F.txt"):
            put = http.put(f"/runs/{run_id}/artifacts/{path}", content=b"x")
            assert put.status_code == 400, (path, put.text)
            assert "control character" in put.json()["error"]["message"]
            got = http.get(f"/runs/{run_id}/artifacts/{path}")
            assert got.status_code == 400, (path, got.text)
        assert http.get(f"/runs/{run_id}/artifacts").json() == []
        assert http.put(f"/runs/{run_id}/artifacts/fine.txt", content=b"x").status_code == 201


def test_the_same_input_twice_in_one_request_is_one_input(secured_any: Secured) -> None:
    with secured_any.http("ed") as http:
        http.post("/experiments", json={"name": "odd"})
        run_id = http.post("/runs", json={"experiment": "odd"}).json()["run_id"]
        same = {"name": "customers", "digest": "blake3:abcdef12", "role": "train", "rows": 10}
        answer = http.post(f"/runs/{run_id}/inputs", json={"inputs": [same, {**same, "rows": 12}]})
        assert answer.status_code == 204, answer.text
        run: Any = http.get(f"/runs/{run_id}").json()
        assert run["run_id"] == run_id, "the connection serves the next request"
    with secured_any.fluent("ed") as sw:
        (recorded,) = sw.get_run(run_id).inputs
        assert (recorded.name, recorded.rows) == ("customers", 12), "the last one given wins"
