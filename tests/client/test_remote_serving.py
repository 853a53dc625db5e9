"""A model server that runs through ``shipway server``: its routing, models, callers' tokens
and prediction log all go through the API, with only the server's address and a token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from shipway.config import Settings
from shipway.session import Session
from shipway.store import open_stores
from shipway.store.token_store import TokenStore
from tests.client.conftest import LiveServer, client_settings
from tests.security.conftest import LiveModelServer
from tests.serving.conftest import register_churn


def test_a_model_server_through_the_platform_server(settings: Settings, tmp_path: Path) -> None:
    stores = open_stores(settings)
    tokens = TokenStore(stores.db)
    people = (("ops", "admin"), ("serve-bot", "server"), ("app", "predict"))
    admin, bot, caller = (tokens.create(user, role)[0] for user, role in people)
    stores.close()
    platform = LiveServer(settings)
    ops = Session(client_settings(tmp_path / "ops", platform.url, token=admin, user="ops"))
    model_server: Any = None
    try:
        import shipway
        from shipway import session as context

        previous, context._current = context._current, ops
        try:
            register_churn(shipway)  # churn versions 1 and 2, through the server
        finally:
            context._current = previous
        ops.deployments.deploy("churn-live", model="churn", version=1, reason="first")
        served = client_settings(tmp_path / "bot", platform.url, token=bot, user="serve-bot")
        model_server = LiveModelServer(served, ["churn-live"])
        record = {"customer_id": 1, "spend": 0.5, "plan": "a"}
        with model_server.http() as anonymous:
            refused = anonymous.post("/v1/models/churn-live/predict", json=[record])
            assert refused.status_code == 401, "the platform's tokens guard the model server"
        with model_server.http(Authorization=f"Bearer {caller}") as http:
            answers = [http.post("/v1/models/churn-live/predict", json=[record]) for _ in range(5)]
            assert [a.status_code for a in answers] == [200] * 5
            assert {a.json()["model_version"] for a in answers} == {1}
            ids = [a.json()["request_id"] for a in answers]
            feedback = http.post("/v1/feedback", json={"request_id": ids[0], "label": 0})
            assert feedback.status_code == 202
        model_server.stop()  # a clean stop writes the log, through the server
        logged = ops.predictions.read("churn-live")
        assert sorted(logged["request_id"]) == sorted(ids)
        labels = ops.predictions.read("churn-live", "ground_truth")
        assert labels["request_id"].tolist() == [ids[0]]
        profile = ops.predictions.traffic_profile("churn-live", version=1)
        assert profile is not None and profile.rows == 5
        assert isinstance(logged, pd.DataFrame)
        assert platform.stores.artifacts.list("predictions"), "in the platform's own store"
    finally:
        if model_server is not None and model_server.thread.is_alive():
            model_server.stop()
        ops.close()
        platform.stop()
