"""One request cannot cost other requests their log rows; whatever the log leaves out is counted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from shipway.serving.log_encoding import encode
from shipway.serving.prediction_log import (
    PREDICTIONS,
    Logged,
    PredictionLog,
    read_health,
    read_log,
)
from tests.serving.conftest import error_message, oip_tensors, register_churn


def _record(i: int) -> dict[str, Any]:
    return {"customer_id": i, "spend": 1.5, "plan": "a"}


def test_a_json_object_in_a_text_column_is_a_400_and_costs_no_other_row(
    sw: Any, model_server: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    server = model_server("churn-live")
    hostile = {"customer_id": 1, "spend": 1.0, "plan": {"tier": "gold"}}
    with server.http() as http:
        for path, body in (
            ("/v1/models/churn-live/predict", {"records": [hostile]}),
            ("/invocations", {"dataframe_records": [hostile]}),
            (
                "/v2/models/churn-live/infer",
                {"inputs": oip_tensors(hostile)},
            ),
        ):
            refused = http.post(path, json=body)
            assert refused.status_code == 400, (path, refused.text)
            assert "'plan'" in error_message(refused), path

        def one(i: int) -> str:
            if i % 50 == 0:  # hostile requests in the same seconds as the good ones
                http.post("/v1/models/churn-live/predict", json={"records": [hostile]})
            answer = http.post("/v1/models/churn-live/predict", json={"records": [_record(i)]})
            assert answer.status_code == 200
            return str(answer.json()["request_id"])

        with ThreadPoolExecutor(8) as pool:
            answered = set(pool.map(one, range(300)))
    server.stop()
    logged = sw.read_predictions("churn-live")
    assert set(logged["request_id"]) == answered and len(logged) == 300
    assert server.log.dropped == 0
    assert logged["input.plan"].tolist() == ["a"] * 300


def test_labels_are_checked_against_the_models_output(sw: Any, model_server: Any) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    server = model_server("churn-live")
    with server.http() as http:
        rid = http.post("/v1/models/churn-live/predict", json=[_record(1)]).json()["request_id"]
        assert http.post("/v1/feedback", json={"request_id": rid, "label": 1}).status_code == 202
        assert http.post("/v1/feedback", json={"request_id": rid, "label": "0"}).status_code == 202
        assert http.post("/v1/feedback", json={"request_id": rid, "label": True}).status_code == 202
        for label in ("yes", {"a": 1}, [1], None, 0.5):
            refused = http.post("/v1/feedback", json={"request_id": rid, "label": label})
            assert refused.status_code == 400, (label, refused.text)
            assert "label" in refused.json()["error"]["message"]
        mixed = {"records": [{"request_id": rid, "label": 1}, {"request_id": rid, "label": "yes"}]}
        assert http.post("/v1/feedback", json=mixed).status_code == 400  # all or nothing
    server.stop()
    labels = sw.read_predictions("churn-live", kind="ground_truth")
    assert labels["label"].tolist() == [1, 0, 1] and server.log.dropped == 0


class _AnyInput:
    """A model without a signature: it takes anything."""

    def predict(self, frame: Any) -> Any:
        return [0] * len(frame)


def test_a_model_without_a_signature_logs_mixed_values_as_text(sw: Any, model_server: Any) -> None:
    with sw.start_run(experiment="free") as run:
        run.log_model(_AnyInput(), "model")  # no input example: no signature
    sw.register_model(run, "free")
    sw.deploy("free-live", model="free", version=1)
    server = model_server("free-live")
    with server.http() as http:
        for value in ("text", 7, {"nested": [1, 2]}, None):
            answer = http.post("/v1/models/free-live/predict", json={"records": [{"x": value}]})
            assert answer.status_code == 200, answer.text
        for label in (1, "yes"):  # two labels of two types in one second
            rid = http.post("/v1/models/free-live/predict", json=[{"x": 1}]).json()["request_id"]
            assert (
                http.post("/v1/feedback", json={"request_id": rid, "label": label}).status_code
                == 202
            )
    server.stop()
    assert server.log.dropped == 0
    logged = sw.read_predictions("free-live")
    assert logged["input.x"].tolist()[:3] == ["text", "7", '{"nested": [1, 2]}']
    assert logged["input.x"].isna().tolist()[:4] == [False, False, False, True]
    assert sorted(sw.read_predictions("free-live", kind="ground_truth")["label"]) == ["1", "yes"]


def test_a_row_that_does_not_fit_its_column_is_left_out_and_counted(sw: Any) -> None:
    from shipway.session import current

    artifacts = current().stores.artifacts
    log = PredictionLog(artifacts, flush_seconds=3600)
    declared = {"input.n": pa.int64()}
    for i, value in enumerate([1, 2, "three", 4]):
        log.append_predictions(
            "d",
            Logged(
                f"r{i}",
                1_700_000_000.0 + i,
                [1],
                1.0,
                pd.DataFrame({"n": [value]}),
                [0],
                declared=declared,
            ),
        )
    log.close()
    logged = read_log(artifacts, PREDICTIONS, "d")
    assert (
        logged["request_id"].tolist() == ["r0", "r1", "r3"] and logged["input.n"].dtype == "int64"
    )
    assert log.dropped == 1 and log.unencodable == 1
    (health,) = read_health(artifacts, "d")
    assert health["dropped_rows"] == 1 and health["dropped_by_reason"] == {"unencodable": 1}


def test_encoding_keeps_declared_types() -> None:
    frame = pd.DataFrame(
        {"request_id": ["a", "b"], "row": [0, 1], "input.f": [1, 2], "output": [1, "x"]}
    )
    encoded = encode(frame, {"input.f": pa.float64()})
    assert encoded.bad_rows == [] and encoded.table is not None
    schema = encoded.table.schema
    assert schema.field("input.f").type == pa.float64() and schema.field("row").type == pa.int64()
    assert schema.field("output").type == pa.string()  # mixed: kept as text
    assert encoded.table.column("output").to_pylist() == ["1", "x"]


@pytest.mark.parametrize("failures", [1, 3])
def test_a_store_that_fails_loses_nothing_once_it_is_back(sw: Any, failures: int) -> None:
    from shipway.session import current
    from tests.serving.test_health_records import _Flaky

    store = _Flaky(current().stores.artifacts, PREDICTIONS, failures=failures)
    log = PredictionLog(store, flush_seconds=3600)
    for i in range(5):
        log.append_predictions(
            "d", Logged(f"r{i}", 1_700_000_000.0, [1], 1.0, pd.DataFrame({"n": [i]}), [0])
        )
        if store.failures:
            with pytest.raises(OSError):
                log.flush()
    log.close()
    logged = read_log(current().stores.artifacts, PREDICTIONS, "d")
    assert sorted(logged["request_id"]) == [f"r{i}" for i in range(5)]
    assert log.dropped == 0
