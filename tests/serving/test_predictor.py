"""The prediction path without HTTP: routing, validation, the model call and the log."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest

from shipway.errors import InvalidArgument, ModelFailed, NotFound, NotReady
from shipway.serving.metrics import ServingMetrics
from shipway.serving.prediction_log import PredictionLog, read_log
from shipway.serving.predictor import Predictor
from shipway.serving.state import ServerState


def _predictor(sw: Any, *names: str, log: bool = True) -> Predictor:
    session = sw.session.current()
    state = ServerState(session, list(names))
    state.refresh()
    writer = PredictionLog(session.stores.artifacts, flush_seconds=3600) if log else None
    return Predictor(state, writer, ServingMetrics(writer))


def test_a_prediction_is_routed_checked_and_logged(sw: Any, churn: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    predictor = _predictor(sw, "live")
    frame = churn.head(3)
    answer = asyncio.run(predictor.predict("live", frame, request_id="r1"))
    assert answer.loaded.version == 1 and list(answer.outputs) == [0, 0, 0]
    assert answer.after is not None
    answer.after()  # what the server runs after the answer is sent
    predictor.log.close()  # type: ignore[union-attr]
    logged = read_log(sw.session.current().stores.artifacts, "predictions", "live")
    assert logged["request_id"].tolist() == ["r1"] * 3 and set(logged["model_version"]) == {1}


def test_pinned_versions_canaries_and_refusals(sw: Any, churn: Any, monkeypatch: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    sw.deploy("live", model="churn", version=2, strategy="canary", weight=30)
    predictor = _predictor(sw, "live", log=False)
    frame = churn.head(2)
    for draw, version in ((0.29, 2), (0.31, 1)):  # the canary's 30% of the draws
        monkeypatch.setattr("shipway.serving.predictor.random.random", lambda d=draw: d)
        routed = asyncio.run(predictor.predict("live", frame, request_id="r"))
        assert routed.loaded.version == version and routed.after is None
    pinned = asyncio.run(predictor.predict("live", frame, request_id="r", pinned=1))
    assert pinned.loaded.version == 1
    with pytest.raises(NotFound, match="does not serve version 7"):
        asyncio.run(predictor.predict("live", frame, request_id="r", pinned=7))
    with pytest.raises(InvalidArgument, match="missing input column"):
        asyncio.run(predictor.predict("live", frame.drop(columns="spend"), request_id="r"))
    with pytest.raises(NotFound, match="does not serve 'other'"):
        asyncio.run(predictor.predict("other", frame, request_id="r"))


class _Broken:
    def predict(self, frame: Any) -> Any:
        raise RuntimeError("out of memory")


def test_a_broken_model_is_a_platform_fault_named_by_its_version(sw: Any) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    with sw.start_run(experiment="broken") as run:
        run.log_model(_Broken(), "model", signature=None)
    sw.register_model(run, "broken")
    sw.deploy("bad", model="broken", version=1)
    predictor = _predictor(sw, "bad", log=False)
    with pytest.raises(ModelFailed, match="bad version 1 failed: RuntimeError") as failed:
        asyncio.run(predictor.predict("bad", frame, request_id="r"))
    assert failed.value.http_status == 500 and failed.value.version == 1


def test_a_deployment_whose_model_is_not_loaded_is_not_ready(sw: Any, churn: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    session = sw.session.current()
    state = ServerState(session, ["live"])  # never refreshed: nothing loaded
    predictor = Predictor(state, None, ServingMetrics(None))
    state.served["live"] = state._prepare(session.deployments.get("live"), None)
    state.served["live"].versions.clear()
    with pytest.raises(NotReady):
        asyncio.run(predictor.predict("live", churn.head(1), request_id="r"))
