"""The fluent API, the CLI and the registry through a live server: retries never double a
write, tokens name the caller, and errors arrive as the same ShipwayErrors as locally."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipway.client import RemoteTracking, Transport
from shipway.config import Settings
from shipway.errors import (
    Conflict,
    Forbidden,
    PolicyViolation,
    StoreUnavailable,
    Unauthenticated,
)
from shipway.session import Session
from shipway.store.token_store import TokenStore
from tests.cli.conftest import cli  # noqa: F401 - the fixture
from tests.client.conftest import LiveServer, client_settings


def _train() -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return LogisticRegression().fit(frame, frame["a"] > 0), frame


def test_fluent_api_end_to_end_through_the_server(remote: Any, live_server: LiveServer) -> None:
    model, frame = _train()
    with remote.start_run(experiment="churn", name="lr", params={"C": 1.0}) as run:
        for step in range(50):
            remote.log_metric("loss", 1 / (step + 1), step=step)
        remote.log_dict({"C": 1.0}, "config.json")
        with remote.start_run(name="child") as child:
            remote.set_tag("fold", 1)
        run.log_model(model, "model", input_example=frame.head())
    assert child.run_id != run.run_id
    stored = live_server.stores.tracking.get_run(run.run_id)  # it is in the server's store
    assert stored.status.value == "FINISHED" and stored.metrics["loss"] == 1 / 50
    assert len(remote.get_metric_history(run.run_id, "loss")) == 50
    assert live_server.stores.tracking.child_runs(run.run_id) == [child.run_id]
    version = remote.register_model(run, "churn")
    remote.promote("churn", version.version, to="production", reason="first")
    loaded = remote.load_model("models:/churn@production")
    assert list(loaded.predict(frame)) == list(model.predict(frame))
    found = remote.search_runs("churn", "params.C = '1.0'")
    assert list(found["run_id"]) == [run.run_id]
    with pytest.raises(Conflict, match="write-once"), remote.start_run(experiment="churn"):
        remote.log_param("C", 1)
        remote.log_param("C", 2)


def test_dataset_versions_go_through_the_server(remote: Any, live_server: LiveServer) -> None:
    import pandas as pd

    frame = pd.DataFrame({"a": [1, 2, 3]})
    with remote.start_run() as run:
        version = remote.log_dataset("flights", frame)
    assert version.uri == "datasets:/flights/1" and version.rows == 3
    assert remote.get_run(run.run_id).inputs[0].digest == version.digest
    stored = live_server.stores.artifacts.list("objects")
    assert stored, "the bytes live in the server's store"
    assert remote.load_dataset("flights@1").equals(frame)
    with remote.start_run() as other:  # recording a run's input by its hash alone still works
        other.log_dataset("flights", pd.DataFrame({"a": [1, 2]}), snapshot=False)
    assert remote.get_run(other.run_id).inputs[0].rows == 2


class LosesResponses(httpx.BaseTransport):
    """Delivers every request to the server, then loses the first answer to each write."""

    def __init__(self, also_503: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: set[str] = set()
        self.also_503 = also_503
        self.sent = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("idempotency-key")
        if self.also_503 and key and f"503-{key}" not in self.seen:
            self.seen.add(f"503-{key}")
            return httpx.Response(
                503, json={"error": {"code": "STORE_UNAVAILABLE", "message": "busy"}}
            )
        response = self.inner.handle_request(request)
        self.sent += 1
        if key and key not in self.seen:
            self.seen.add(key)
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def _lossy_backend(server: LiveServer, tmp_path: Path, lossy: LosesResponses) -> Session:
    settings = client_settings(tmp_path, server.url)
    client = httpx.Client(base_url=server.url + "/api/v1", transport=lossy)
    transport = Transport(server.url, client=client, backoff=0.001)
    ctx = Session(settings, tracking=RemoteTracking(settings, transport))
    return ctx


@pytest.mark.parametrize("also_503", [False, True], ids=["lost-responses", "503-then-lost"])
def test_retries_never_double_a_write(
    live_server: LiveServer, tmp_path: Path, also_503: bool
) -> None:
    from shipway.tracking.model_logging import log_model

    lossy = LosesResponses(also_503)
    ctx = _lossy_backend(live_server, tmp_path, lossy)
    tracking, registry = ctx.tracking, ctx.registry
    run = tracking.create_run("retry", capture_environment=False)
    for step in range(1000):
        tracking.log_metric(run.run_id, "loss", float(step), step=step)
    tracking.flush()
    model, frame = _train()
    log_model(tracking, run.run_id, model, "model")
    version = registry.register(run, "retried")
    registry.promote("retried", 1, to="production")
    registry.approve("retried", 1, comment="ok")
    ctx.close()
    store = live_server.stores
    assert [r.run_id for r in store.tracking.search_runs([run.experiment_id])] == [run.run_id]
    assert len(store.tracking.get_metric_history(run.run_id, "loss")) == 1000
    assert version.version == 1
    assert [v.version for v in store.registry.list_versions("retried")] == [1]
    assert len(store.registry.approvals("retried", 1)) == 1
    events = [e.action for e in store.registry.history("model:retried")]
    assert events.count("register") == 1 and events.count("transition") == 1
    assert lossy.sent > 0 and len(lossy.seen) > 0


def test_a_reused_idempotency_key_with_another_body_is_refused(live_server: LiveServer) -> None:
    base = live_server.url + "/api/v1"
    headers = {"idempotency-key": "k1"}
    first = httpx.post(f"{base}/experiments", json={"name": "a"}, headers=headers)
    again = httpx.post(f"{base}/experiments", json={"name": "a"}, headers=headers)
    other = httpx.post(f"{base}/experiments", json={"name": "b"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replay"] == "true"
    assert other.status_code == 422 and other.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    names = [e.name for e, _ in live_server.stores.tracking.list_experiments()]
    assert names == ["a"]


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    transport = Transport(f"http://127.0.0.1:{port}", retries=2, backoff=0.001)
    settings = client_settings(tmp_path, f"http://127.0.0.1:{port}")
    tracking = RemoteTracking(settings, transport)
    with pytest.raises(StoreUnavailable, match=f"127.0.0.1:{port} did not answer after 3 tries"):
        tracking.list_experiments()
    tracking.close()


@pytest.fixture
def secured(settings: Settings) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    from shipway.store import open_stores

    stores = open_stores(settings)
    tokens = TokenStore(stores.db)
    secrets = {
        user: tokens.create(user, role)[0]
        for user, role in (("ed", "editor"), ("ann", "approver"), ("vic", "viewer"))
    }
    stores.close()
    server = LiveServer(settings)
    yield server, secrets
    server.stop()


def test_tokens_name_the_caller_and_roles_hold(secured: Any, tmp_path: Path) -> None:
    server, secrets = secured
    as_user = {
        user: Session(client_settings(tmp_path / user, server.url, token=secret))
        for user, secret in secrets.items()
    }
    anonymous = Session(client_settings(tmp_path / "anon", server.url))
    try:
        with pytest.raises(Unauthenticated, match="needs a token"):
            anonymous.tracking.list_experiments()
        ed = as_user["ed"]
        run = ed.tracking.create_run("secure", capture_environment=False)
        assert run.user == "ed", "the server names the token's user, not the client's"
        model, _ = _train()
        from shipway.tracking.model_logging import log_model

        log_model(ed.tracking, run.run_id, model, "model")
        with pytest.raises(Forbidden, match="needs the editor role"):
            as_user["vic"].tracking.create_run("secure")
        ed.registry.register(run, "guarded")
        with pytest.raises(Forbidden, match="approver"):
            ed.registry.promote("guarded", 1, to="staging")
        server.app.state.session.acting_as("ops").registry.set_policy(
            "guarded", required_approvals=1, two_person_rule=True
        )
        with pytest.raises(PolicyViolation, match="needs 1 approval"):
            as_user["ann"].registry.promote("guarded", 1, to="production")
        as_user["ann"].registry.approve("guarded", 1)
        as_user["ann"].registry.promote("guarded", 1, to="production", reason="approved")
        actors = [(e.action, e.actor) for e in as_user["vic"].registry.history("guarded")]
        assert ("register", "ed") in actors and ("approve", "ann") in actors
        assert actors[-1] == ("transition", "ann")
    finally:
        for ctx in [*as_user.values(), anonymous]:
            ctx.close()


def test_the_cli_works_through_the_server(
    live_server: LiveServer,
    cli: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    remote: Any,
    tmp_path: Path,
) -> None:
    model, frame = _train()
    with remote.start_run(experiment="cli-exp", name="via-server") as run:
        remote.log_metric("auc", 0.8)
        run.log_model(model, "model", input_example=frame.head())
    with remote.start_run(experiment="cli-exp", name="other") as other:
        remote.log_metric("auc", 0.7)
    monkeypatch.setenv("SHIPWAY_TRACKING_URI", live_server.url)
    out = cli("runs", "list", "-e", "cli-exp")
    assert "via-server" in out and run.run_id[:8] in out
    assert "0.8" in cli("runs", "show", run.run_id)
    assert "0.7" in cli("runs", "compare", run.run_id, other.run_id)
    assert "cli-exp" in cli("experiments", "list")
    assert "model/MODEL.json" in cli("artifacts", "list", run.run_id)
    cli("artifacts", "get", run.run_id, "model/MODEL.json", "--out", str(tmp_path / "got"))
    assert (tmp_path / "got" / "MODEL.json").is_file()
    assert "version 1" in cli("models", "register", run.run_id, "--name", "cli-model")
    cli("models", "promote", "cli-model", "1", "--to", "staging", "--reason", "try")
    assert "staging" in cli("models", "show", "cli-model")
    assert "transition" in cli("models", "history", "cli-model")
    out = cli("models", "promote", "cli-model", "7", "--to", "staging", code=2)
    assert "Traceback" not in out and "7" in out
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    assert "new version cli-data@1" in cli("data", "add", str(data), "--name", "cli-data")
    assert "cli-data" in cli("data", "list")
    frame.assign(a=frame["a"] * 2).to_csv(data, index=False)
    cli("data", "add", str(data), "--name", "cli-data")
    assert "cli-data 1 → 2" in cli("data", "diff", "cli-data", "1", "2")
    assert "datasets:/cli-data/2" in cli("data", "show", "cli-data@2")
    cli("data", "get", "cli-data@1", "--out", str(tmp_path / "back.csv"))
    assert (tmp_path / "back.csv").read_bytes().startswith(b"a,b")
    cli("deploy", "cli-live", "--model", "cli-model", "--version", "1")
    assert "cli-live" in cli("deploy", "list", "--json")
    assert "deploy:direct" in cli("deploy", "history", "cli-live")
    cli("alerts", "list")
    created = cli("tokens", "create", "--user", "scorer", "--role", "predict", "--json")
    assert "sw_" in created
