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
    # the matrix has every operation and every role: a regression shows as one cell
    assert all(set(row) == set(ALL_ROLES) for row in matrix.values())
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
