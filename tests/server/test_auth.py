"""Tokens and roles: who may do what, and the audit log names them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shipway.config import Settings
from shipway.server.app import API, create_app
from shipway.store import open_stores
from shipway.store.token_store import TokenStore


@pytest.fixture
def secured(
    settings: Settings,
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]], TokenStore]]:
    stores = open_stores(settings)
    tokens = TokenStore(stores.db)
    headers = {}
    for user, role in (
        ("vera", "viewer"),
        ("ed", "editor"),
        ("alice", "editor"),
        ("apollo", "approver"),
        ("ada", "admin"),
    ):
        secret, _ = tokens.create(user, role)
        headers[user] = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client, headers, tokens
    stores.close()


def _logged_run(sw: Any) -> str:
    from sklearn.dummy import DummyClassifier

    with sw.start_run(experiment="m") as run:
        run.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), "model")
    return run.run_id


def test_tokens_are_required_and_roles_enforced(secured: Any, sw: Any) -> None:
    client, headers, _ = secured
    assert client.get(f"{API}/experiments").status_code == 401
    assert (
        client.get(f"{API}/experiments", headers={"Authorization": "Bearer sw_nope"}).json()[
            "error"
        ]["code"]
        == "UNAUTHENTICATED"
    )
    assert client.get(f"{API}/experiments", headers=headers["vera"]).status_code == 200
    denied = client.post(f"{API}/experiments", json={"name": "x"}, headers=headers["vera"])
    assert (
        denied.status_code == 403
        and "vera is a viewer; this needs the editor role" in denied.json()["error"]["message"]
    )
    run = client.post(f"{API}/runs", json={"experiment": "x"}, headers=headers["ed"]).json()
    assert run["user"] == "ed"
    run_id = _logged_run(sw)
    version = client.post(
        f"{API}/models/m/versions", json={"source": run_id}, headers=headers["alice"]
    ).json()
    assert version["created_by"] == "alice"
    assert (
        client.post(
            f"{API}/models/m/versions/1/stage",
            json={"stage": "production"},
            headers=headers["alice"],
        ).status_code
        == 403
    )
    assert (
        client.put(
            f"{API}/models/m/policy",
            json={"required_approvals": 1, "two_person_rule": True},
            headers=headers["apollo"],
        ).status_code
        == 403
    )
    assert (
        client.put(
            f"{API}/models/m/policy",
            json={"required_approvals": 1, "two_person_rule": True},
            headers=headers["ada"],
        ).status_code
        == 200
    )
    assert (
        client.post(
            f"{API}/models/m/versions/1/approvals", json={}, headers=headers["apollo"]
        ).status_code
        == 201
    )
    promoted = client.post(
        f"{API}/models/m/versions/1/stage",
        json={"stage": "production", "reason": "ok"},
        headers=headers["apollo"],
    )
    assert promoted.json()["stage"] == "production"
    actors = [
        (e["action"], e["actor"])
        for e in client.get(f"{API}/models/m/history", headers=headers["vera"]).json()
    ]
    assert (
        ("register", "alice") in actors
        and ("approve", "apollo") in actors
        and ("set_policy", "ada") in actors
    )
    assert actors[-1] == ("transition", "apollo")


def test_two_person_rule_through_the_api(secured: Any, sw: Any) -> None:
    client, headers, tokens = secured
    run_id = _logged_run(sw)
    secret, _ = tokens.create("alice-approver", "approver")
    alice = {"Authorization": f"Bearer {secret}"}
    client.post(f"{API}/models/m/versions", json={"source": run_id}, headers=alice)
    client.put(
        f"{API}/models/m/policy",
        json={"required_approvals": 1, "two_person_rule": True},
        headers=headers["ada"],
    )
    own = client.post(f"{API}/models/m/versions/1/approvals", json={}, headers=alice)
    assert own.status_code == 403 and "two-person rule" in own.json()["error"]["message"]


def test_revoked_tokens_stop_working(secured: Any) -> None:
    client, headers, tokens = secured
    vera = next(t for t in tokens.list() if t.user == "vera")
    tokens.revoke(vera.token_id)
    assert client.get(f"{API}/experiments", headers=headers["vera"]).status_code == 401
    stored = {t.token_id: t for t in tokens.list()}
    assert stored[vera.token_id].revoked_at is not None


def test_tokens_are_stored_hashed(secured: Any, settings: Settings) -> None:
    import sqlalchemy as sa

    _, headers, tokens = secured
    secret = headers["vera"]["Authorization"].split(" ")[1].split("_", 2)[2]
    with tokens.db.read() as conn:
        stored = conn.execute(sa.text("SELECT secret_hash FROM api_tokens")).scalars().all()
    assert secret not in stored and all(len(h) == 64 for h in stored)
