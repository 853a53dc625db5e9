"""What the UI asks of the server, through a real server and httpx: the page and its assets,
signing in (the token kept in an HttpOnly cookie, never in a URL), the CSRF token a cookie
session needs for changes, the refusal of changes other sites send, and the new reads: a
metric's history in buckets, a table's columns, a page of runs with chosen columns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipway.config import Settings
from tests.client.conftest import LiveServer


@pytest.fixture
def server(sw: Any, settings: Settings) -> Iterator[LiveServer]:
    for i in range(7):
        with sw.start_run("ui", f"r{i}", params={"depth": i, "lr": 0.1}, tags={"team": "a"}):
            sw.log_metrics({"auc": 0.5 + i / 20, "loss": 1 - i / 10})
    live = LiveServer(settings)
    yield live
    live.stop()


def _token(server: LiveServer, role: str) -> str:
    from shipway.store.token_store import TokenStore

    return TokenStore(server.stores.db).create(f"the-{role}", role)[0]


def test_the_page_and_its_assets_are_served_with_a_strict_policy(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        policy = page.headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in policy and "frame-ancestors 'none'" in policy
        assert (
            "https:" not in policy and "cdn" not in page.text.lower()
        )  # nothing fetched from elsewhere
        for asset in (
            "app.js",
            "vendor/echarts.esm.min.js",
            "vendor/preact.module.js",
            "vendor/LICENSE-echarts",
        ):
            assert http.get(f"/ui/static/{asset}").status_code == 200, asset


def test_an_open_server_signs_the_page_in_as_admin(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/ui/session").json() == {
            "user": "tester",
            "role": "admin",
            "open": True,
            "csrf": None,
            "sso": None,
        }


def test_sign_in_keeps_the_token_in_an_httponly_cookie_and_changes_need_the_csrf_token(
    server: LiveServer,
) -> None:
    approver = _token(server, "approver")
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/ui/session").json()["user"] is None
        refused = http.post("/ui/session", json={"token": "sw_wrong"})
        assert refused.status_code == 401 and "unknown" in refused.json()["error"]["message"]
        signed = http.post("/ui/session", json={"token": approver})
        assert signed.status_code == 200 and signed.json() == {
            "user": "the-approver",
            "role": "approver",
        }
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert approver not in str(signed.url)
        session = http.get("/ui/session").json()
        assert session["role"] == "approver" and len(session["csrf"]) == 32
        assert http.get("/api/v1/me").json()["user"] == "the-approver"  # reads need only the cookie
        body = {"experiments": ["ui"], "max_results": 1}
        assert http.post("/api/v1/runs/search", json=body).status_code == 403  # no CSRF token
        wrong = http.post("/api/v1/runs/search", json=body, headers={"x-shipway-csrf": "0" * 32})
        assert wrong.status_code == 403 and "CSRF" in wrong.json()["error"]["message"]
        right = http.post(
            "/api/v1/runs/search", json=body, headers={"x-shipway-csrf": session["csrf"]}
        )
        assert right.status_code == 200 and len(right.json()) == 1
        assert http.delete("/ui/session").status_code == 204
        assert http.get("/ui/session").json()["user"] is None
        assert http.get("/api/v1/me").status_code == 401


def test_a_viewer_session_is_refused_what_a_viewer_token_is(server: LiveServer) -> None:
    viewer = _token(server, "viewer")
    with httpx.Client(base_url=server.url) as http:
        http.post("/ui/session", json={"token": viewer})
        csrf = http.get("/ui/session").json()["csrf"]
        answer = http.post(
            "/api/v1/models/any/versions/1/approvals", json={}, headers={"x-shipway-csrf": csrf}
        )
        assert (
            answer.status_code == 403
            and "needs the approver role" in answer.json()["error"]["message"]
        )


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_change_another_site_sends_is_refused_even_on_an_open_server(
    server: LiveServer, headers: dict[str, str]
) -> None:
    with httpx.Client(base_url=server.url) as http:
        answer = http.post("/api/v1/experiments", json={"name": "forged"}, headers=headers)
        assert answer.status_code == 403
        assert "cross-site" in answer.json()["error"]["message"]
        assert http.get("/api/v1/experiments/forged").status_code == 404  # nothing was made
        same = {"origin": server.url, "sec-fetch-site": "same-origin"}
        assert (
            http.post("/api/v1/experiments", json={"name": "mine"}, headers=same).status_code == 201
        )
        assert http.get("/api/v1/experiments", headers=headers).status_code == 200  # reads pass


def test_a_long_history_comes_in_buckets_that_keep_its_extremes(
    sw: Any, server: LiveServer
) -> None:
    with sw.start_run("ui", "long") as run:
        for step in range(10_000):
            sw.log_metric("loss", 99.0 if step == 7_777 else 1.0 + step % 3, step=step)
        sw.log_metric("loss", float("nan"), step=10_000)
    with httpx.Client(base_url=server.url) as http:
        buckets = http.get(
            f"/api/v1/runs/{run.run_id}/metrics/loss/sampled", params={"points": 100}
        ).json()
        assert 90 <= len(buckets) <= 100
        assert sum(b["count"] for b in buckets) == 10_000  # every step in one bucket; NaN left out
        assert [b["step"] for b in buckets] == sorted(b["step"] for b in buckets)
        assert max(b["max"] for b in buckets) == 99.0  # the spike survives
        spiked = next(b for b in buckets if b["step"] <= 7_777 <= b["last_step"])
        assert spiked["max"] == 99.0 and spiked["min"] == 1.0
        short = http.get(
            f"/api/v1/runs/{run.run_id}/metrics/loss/sampled", params={"points": 20_000}
        )
        assert short.status_code == 400
        whole = http.get(
            f"/api/v1/runs/{run.run_id}/metrics/loss/sampled", params={"points": 10_000}
        ).json()
        assert len(whole) == 10_000 and whole[7_777]["value"] == 99.0


def test_the_columns_and_a_page_of_runs_with_only_those_columns(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url) as http:
        columns = http.get("/api/v1/experiments/ui/columns").json()
        assert columns["metrics"] == ["auc", "loss"] and columns["params"] == ["depth", "lr"]
        assert "team" in columns["tags"]
        body: dict[str, Any] = {
            "experiments": ["ui"],
            "order_by": ["metrics.auc DESC"],
            "max_results": 3,
            "columns": ["metrics.auc", "params.depth"],
        }
        first = http.post("/api/v1/runs/search", json=body).json()
        second = http.post("/api/v1/runs/search", json={**body, "offset": 3}).json()
        assert [r["name"] for r in first + second] == ["r6", "r5", "r4", "r3", "r2", "r1"]
        assert first[0]["metrics"] == {"auc": 0.8} and first[0]["params"] == {"depth": "6"}
        assert first[0]["tags"] == {}
        bad = http.post("/api/v1/runs/search", json={**body, "columns": ["auc"]})
        assert bad.status_code == 400 and "metrics.KEY" in bad.json()["error"]["message"]
        typo = http.post("/api/v1/runs/search", json={**body, "filter": "metrics.auc >> 1"})
        assert typo.status_code == 400 and typo.json()["error"]["details"]["position"] == 13


def test_an_open_server_answers_a_browser_only_under_a_loopback_name(server: LiveServer) -> None:
    """DNS rebinding: a page whose own name now points at 127.0.0.1 is same-origin to the
    browser, so only the Host header tells it apart."""
    rebound = {
        "host": "attacker.example",
        "sec-fetch-mode": "cors",
        "sec-fetch-site": "same-origin",
    }
    with httpx.Client(base_url=server.url) as http:
        for path in ("/api/v1/experiments", "/ui/session"):
            refused = http.get(path, headers=rebound)
            assert refused.status_code == 403 and "localhost" in refused.json()["error"]["message"]
        named = {**rebound, "host": "localhost"}
        assert http.get("/api/v1/experiments", headers=named).status_code == 200
        assert (
            http.get("/api/v1/experiments", headers={"host": "attacker.example"}).status_code == 200
        )


def test_odd_csrf_headers_and_metric_values_are_no_500(sw: Any, server: LiveServer) -> None:
    viewer = _token(server, "viewer")
    with sw.start_run("ui", "inf") as run:
        sw.log_metric("swing", float("inf"), step=0)
        sw.log_metric("swing", float("-inf"), step=1)
        sw.log_metric("big", 1.0, step=0)
        sw.log_metric("big", 2.0, step=2**62)
    with httpx.Client(base_url=server.url) as http:
        http.post("/ui/session", json={"token": viewer})
        odd = http.post("/api/v1/runs/search", json={}, headers={"x-shipway-csrf": b"\xe9" * 32})
        assert odd.status_code == 403
        swing = http.get(f"/api/v1/runs/{run.run_id}/metrics/swing/sampled", params={"points": 1})
        assert swing.status_code == 200 and swing.json()[0]["value"] == "NaN"  # as the API says it
        assert swing.json()[0]["max"] == "Infinity"
        big = http.get(f"/api/v1/runs/{run.run_id}/metrics/big/sampled", params={"points": 10})
        assert big.status_code == 200 and [b["step"] for b in big.json()] == [0, 2**62]
