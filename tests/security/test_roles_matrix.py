"""Every operation × every role, generated from the OpenAPI document the server serves: each
operation names the role it needs (``x-shipway-role``), and a token of every role is sent to
every operation. A role below it gets 403 naming the role; a role that includes it gets past
the check. A new route cannot ship without a role: the document would lack it (issue 22)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from shipway.server.openapi import OPEN, ROLE
from shipway.store import open_stores
from shipway.store.token_store import ALL_ROLES, role_allows
from tests.security.conftest import Secured

# What each operation needs, decided here and reviewed: the document (read from the code)
# must say the same, so a route given another role, or a new route, fails until this table
# and docs/threat-model.md say so too.
EXPECTED = {
    "GET /api/v1/experiments": "viewer",
    "POST /api/v1/experiments": "editor",
    "GET /api/v1/experiments/{name_or_id}": "viewer",
    "POST /api/v1/runs": "editor",
    "POST /api/v1/runs/search": "viewer",
    "GET /api/v1/runs/{run_id}": "viewer",
    "POST /api/v1/runs/{run_id}/end": "editor",
    "POST /api/v1/runs/{run_id}/log-batch": "editor",
    "POST /api/v1/runs/{run_id}/inputs": "editor",
    "GET /api/v1/runs/{run_id}/metrics/{key}": "viewer",
    "GET /api/v1/runs/{run_id}/artifacts": "viewer",
    "PUT /api/v1/runs/{run_id}/artifacts/{path}": "editor",
    "GET /api/v1/runs/{run_id}/artifacts/{path}": "viewer",
    "GET /api/v1/models": "viewer",
    "GET /api/v1/models/{name}": "viewer",
    "POST /api/v1/models/{name}/versions": "editor",
    "GET /api/v1/models/{name}/versions/{version}": "viewer",
    "POST /api/v1/models/{name}/versions/{version}/stage": "approver",
    "POST /api/v1/models/{name}/versions/{version}/approvals": "approver",
    "GET /api/v1/models/{name}/versions/{version}/approvals": "viewer",
    "GET /api/v1/models/{name}/aliases/{alias}": "viewer",
    "PUT /api/v1/models/{name}/aliases/{alias}": "approver",
    "DELETE /api/v1/models/{name}/aliases/{alias}": "approver",
    "POST /api/v1/models/{name}/rollback": "approver",
    "PUT /api/v1/models/{name}/policy": "admin",
    "GET /api/v1/models/{name}/history": "viewer",
    "POST /api/v1/environments": "editor",
    "GET /api/v1/environments/{digest}": "viewer",
    "GET /api/v1/datasets": "viewer",
    "GET /api/v1/datasets/objects/{digest}": "viewer",
    "PUT /api/v1/datasets/objects/{digest}": "editor",
    "GET /api/v1/datasets/{name}/versions": "viewer",
    "POST /api/v1/datasets/{name}/versions": "editor",
    "GET /api/v1/datasets/{name}/newest": "viewer",
    "GET /api/v1/datasets/{name}/versions/{version}": "viewer",
    "GET /api/v1/datasets/{name}/versions/{version}/runs": "viewer",
    "GET /api/v1/datasets/{name}/versions/{version}/manifest": "viewer",
    "GET /api/v1/deployments": "viewer",
    "GET /api/v1/deployments/{name}": "viewer",
    "PUT /api/v1/deployments/{name}": "approver",
    "POST /api/v1/deployments/{name}/follow": "approver",
    "POST /api/v1/deployments/{name}/weight": "approver",
    "POST /api/v1/deployments/{name}/batching": "approver",
    "POST /api/v1/deployments/{name}/promote": "approver",
    "POST /api/v1/deployments/{name}/rollback": "approver",
    "GET /api/v1/deployments/{name}/history": "viewer",
    "GET /api/v1/deployments/{name}/log": "viewer",
    "POST /api/v1/deployments/{name}/ground-truth": "predict",
    "GET /api/v1/deployments/{name}/profile": "viewer",
    "PUT /api/v1/logs/{key}": "server",
    "GET /api/v1/monitoring/{deployment}/windows": "viewer",
    "GET /api/v1/monitoring/{deployment}/report": "viewer",
    "GET /api/v1/alerts": "viewer",
    "GET /api/v1/alerts/{alert_id}": "viewer",
    "POST /api/v1/alerts/{alert_id}/ack": "editor",
    "POST /api/v1/alerts/{alert_id}/resolve": "editor",
    "POST /api/v1/monitoring/{deployment}/evaluate": "editor",
    "POST /api/v1/monitoring/rounds": "editor",
    "GET /api/v1/loops": "viewer",
    "GET /api/v1/tokens": "admin",
    "POST /api/v1/tokens": "admin",
    "DELETE /api/v1/tokens/{token_id}": "admin",
    "POST /api/v1/tokens/verify": "viewer",
    "GET /api/v1/tokens/required": "viewer",
    "GET /api/v1/me": "viewer",
    "GET /api/v1/experiments/{name_or_id}/columns": "viewer",
    "GET /api/v1/runs/{run_id}/metrics/{key}/sampled": "viewer",
}


def _tokens(secured: Secured) -> dict[str, str]:
    from shipway.store.token_store import TokenStore

    stores = open_stores(secured.server.app.state.tracking.settings)
    try:
        return {role: TokenStore(stores.db).create(f"the-{role}", role)[0] for role in ALL_ROLES}
    finally:
        stores.close()


def _call(http: httpx.Client, method: str, path: str) -> httpx.Response:
    concrete = re.sub(r"\{[^}]+\}", "1", path)  # every path parameter: a value that exists nowhere
    body = None if method in ("get", "delete") else {}
    return http.request(method.upper(), concrete, json=body)


def test_every_operation_for_every_role_is_as_the_document_says(secured: Secured) -> None:
    tokens = _tokens(secured)
    with httpx.Client(base_url=secured.url, timeout=60) as anonymous:
        document: Any = anonymous.get("/api/v1/openapi.json").json()
    operations = [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 65
    unnamed = [f"{m.upper()} {p}" for m, p, o in operations if ROLE not in o and p not in OPEN]
    assert unnamed == [], "each of these needs Depends(requires(ROLE))"
    documented = {f"{m.upper()} {p}": o[ROLE] for m, p, o in operations if p not in OPEN}
    assert documented == EXPECTED
    matrix: dict[str, dict[str, int]] = {}
    clients = {
        role: httpx.Client(
            base_url=secured.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
        )
        for role, token in tokens.items()
    }
    try:
        _fill(matrix, operations, clients, secured.url)
    finally:
        for client in clients.values():
            client.close()
    writes_log = [op for op, row in matrix.items() if row["editor"] == 403 and "/logs/" in op]
    assert writes_log == ["PUT /api/v1/logs/{key}"], "only a server token writes the log"


def _fill(
    matrix: dict[str, dict[str, int]],
    operations: list[tuple[str, str, Any]],
    clients: dict[str, httpx.Client],
    url: str,
) -> None:
    for method, path, operation in operations:
        if path in OPEN:
            continue
        needed = operation[ROLE]
        assert needed in ALL_ROLES and f"`{needed}`" in operation["description"]
        row = matrix.setdefault(f"{method.upper()} {path}", {})
        for role, http in clients.items():
            answer = _call(http, method, path)
            row[role] = answer.status_code
            refused = answer.status_code == 403 and f"needs the {needed} role" in answer.text
            where = f"{method.upper()} {path} as {role} (needs {needed})"
            assert answer.status_code < 500, (where, answer.text)
            assert answer.status_code != 401, (where, answer.text)
            assert refused == (not role_allows(role, needed)), (where, answer.text)
        with httpx.Client(base_url=url, timeout=60) as anonymous:
            assert _call(anonymous, method, path).status_code == 401, path
        forged_id = {"Authorization": f"Bearer sw_{'0' * 32}_forged"}  # well formed, unknown
        with httpx.Client(base_url=url, timeout=60, headers=forged_id) as forged:
            assert _call(forged, method, path).status_code == 401, path


def test_the_uis_cookie_is_no_way_around_a_token(secured: Secured) -> None:
    """The routes outside the OpenAPI document are the UI's page, files and sign-in (and
    single sign-on's redirects when configured): they give away nothing, and a forged
    session cookie, token-shaped or single-sign-on-shaped, is refused like a forged header."""
    with httpx.Client(base_url=secured.url) as anonymous:
        assert anonymous.get("/ui/session").json()["user"] is None
        assert anonymous.get("/").status_code == 200  # the page: its data comes from the API
        assert anonymous.get("/ui/sso/login").status_code == 404  # no single sign-on here
    for cookie in (f"sw_{'0' * 32}_forged", "sso.eyJ1c2VyIjoiYWRhIiwicm9sZSI6ImFkbWluIn0.x"):
        with httpx.Client(base_url=secured.url, cookies={"shipway_session": cookie}) as http:
            assert http.get("/api/v1/experiments").status_code == 401
            assert http.get("/ui/session").json()["user"] is None
