"""The model server in-process: wire formats, validation, rollout strategies, hot swap, the
prediction log and feedback."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from shipway.types import Strategy
from tests.serving.conftest import error_message, register_churn


def _records(frame: Any, n: int = 3) -> list[dict[str, Any]]:
    return frame.head(n).to_dict("records")


def test_what_mlflow_models_serve_clients_use(sw: Any, churn: Any, serve: Any) -> None:
    """/ping, /health and /version, and text/csv on /invocations (as in
    ``curl -H 'Content-Type: text/csv' --data-binary @rows.csv``)."""
    from shipway import __version__

    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    for probe in ("/ping", "/health"):
        answer = client.get(probe)
        assert answer.status_code == 200 and answer.text == "\n", probe
    assert client.get("/version").text == __version__
    rows = churn.head(3).to_csv(index=False).encode()
    answer = client.post("/invocations", content=rows, headers={"content-type": "text/csv"})
    assert answer.status_code == 200 and answer.json() == {"predictions": [0, 0, 0]}
    shuffled = churn.head(2)[list(reversed(churn.columns))].to_csv(index=False).encode()
    answer = client.post(
        "/invocations", content=shuffled, headers={"content-type": "text/csv; charset=utf-8"}
    )
    assert answer.json() == {"predictions": [0, 0]}, "columns are matched by name"
    for body, status, complaint in (
        (b"", 400, "empty"),
        (b"customer_id,spend,plan\n", 400, "no rows"),
        (b"\xff\xfe\x00", 400, "not CSV"),
    ):
        answer = client.post("/invocations", content=body, headers={"content-type": "text/csv"})
        assert answer.status_code == status and complaint in answer.text, (body, answer.text)
    odd = client.post("/invocations", content=b"<x/>", headers={"content-type": "text/xml"})
    assert odd.status_code == 415 and "application/json or text/csv" in error_message(odd)


def test_every_wire_format_answers_and_names_the_version(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    plain = client.post("/v1/models/live/predict", json={"records": _records(churn)})
    assert plain.status_code == 200 and plain.json()["predictions"] == [0, 0, 0]
    assert plain.headers["x-model-version"] == "1" and plain.json()["model_version"] == 1
    by_columns = client.post(
        "/v1/models/live/predict", json={"columns": churn.head(2).to_dict("list")}
    )
    assert by_columns.json()["predictions"] == [0, 0]
    datatypes = {"customer_id": "INT64", "spend": "FP64", "plan": "BYTES"}
    tensors = [
        {"name": c, "shape": [2], "datatype": datatypes[c], "data": churn[c].head(2).tolist()}
        for c in churn.columns
    ]
    oip = client.post("/v2/models/live/infer", json={"id": "r-1", "inputs": tensors})
    assert oip.status_code == 200 and oip.json()["id"] == "r-1"
    assert oip.json()["outputs"][0]["data"] == [0, 0] and oip.json()["model_version"] == "1"
    pinned = client.post("/v2/models/live/versions/1/infer", json={"inputs": tensors})
    assert pinned.status_code == 200
    for body in (
        {"dataframe_split": churn.head(2).to_dict("split")},
        {"dataframe_records": _records(churn, 2)},
        {"instances": _records(churn, 2)},
        {"inputs": churn.head(2).to_dict("list")},
    ):
        answer = client.post("/invocations", json=body)
        assert answer.status_code == 200 and answer.json() == {"predictions": [0, 0]}, body
    mine = client.post(
        "/v1/models/live/predict", json=_records(churn, 1), headers={"x-request-id": "abc"}
    )
    assert mine.headers["x-request-id"] == "abc" and mine.json()["request_id"] == "abc"
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").status_code == 200
    assert client.get("/v2/models/live/ready").json()["ready"] is True
    meta = client.get("/v2/models/live").json()
    assert meta["versions"] == ["1"] and [i["name"] for i in meta["inputs"]] == list(churn.columns)
    assert (
        'shipway_predict_requests_total{deployment="live",version="1"}'
        in client.get("/metrics").text
    )


@pytest.mark.parametrize(
    ("path", "body", "status", "says"),
    [
        ("/v1/models/live/predict", {"records": [{"spend": 1.0, "plan": "a"}]}, 400, "customer_id"),
        (
            "/v1/models/live/predict",
            {"records": [{"customer_id": 1, "spend": "lots", "plan": "a"}]},
            400,
            "spend",
        ),
        ("/v1/models/live/predict", {"rows": []}, 400, "'records'"),
        ("/v1/models/live/predict", {"records": []}, 400, "non-empty"),
        (
            "/v2/models/live/infer",
            {"inputs": [{"name": "x", "shape": "3", "data": [1]}]},
            400,
            "shape",
        ),
        (
            "/v2/models/live/infer",
            {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1]}]},
            400,
            "1 values for its shape's 2",
        ),
        ("/v2/models/live/infer", {"nothing": 1}, 400, "'inputs'"),
        ("/invocations", {"dataframe_split": {}, "instances": []}, 400, "exactly one"),
        ("/v1/models/nope/predict", {"records": [{"a": 1}]}, 404, "does not serve 'nope'"),
        (
            "/v2/models/live/versions/9/infer",
            {"inputs": [{"name": "customer_id", "shape": [1], "datatype": "INT64", "data": [1]}]},
            404,
            "version 9",
        ),
    ],
)
def test_bad_requests_get_a_4xx_that_names_the_problem(
    sw: Any, churn: Any, serve: Any, path: str, body: Any, status: int, says: str
) -> None:
    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert says in error_message(answer)


def test_malformed_and_oversized_bodies(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    client, _ = serve("live")
    broken = client.post(
        "/v1/models/live/predict",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 400 and "not JSON" in broken.json()["error"]["message"]
    big = client.post("/v1/models/live/predict", content=b" " * (33 * 2**20))
    assert big.status_code == 413
    assert client.get("/v1/models/live/predict").status_code == 405
    assert client.get("/nowhere").json()["error"]["code"] == "NOT_FOUND"


def _versions(client: Any, frame: Any, n: int = 200) -> list[int]:
    return [
        int(
            client.post("/v1/models/live/predict", json=_records(frame, 1)).headers[
                "x-model-version"
            ]
        )
        for _ in range(n)
    ]


def test_canary_shadow_blue_green_and_rollback_without_a_restart(
    sw: Any, churn: Any, serve: Any
) -> None:
    sw.deploy("live", model="churn", version=1)
    client, server = serve("live")
    random.seed(0)
    sw.deploy("live", model="churn", version=2, strategy="canary", weight=25)
    server.state.refresh()
    share = _versions(client, churn, 400).count(2) / 400
    assert 0.18 < share < 0.32
    sw.deploy("live", model="churn", version=2, strategy="shadow")
    server.state.refresh()
    assert set(_versions(client, churn, 20)) == {1}, "the shadow never answers"
    sw.deploy("live", model="churn", version=2, strategy="blue-green")
    server.state.refresh()
    assert set(_versions(client, churn, 20)) == {1}
    assert client.get("/v1/status").json()["deployments"][0]["loaded"] == [1, 2], "green is warm"
    from shipway.session import current

    sw.promote_deployment("live")
    server.state.refresh()
    assert set(_versions(client, churn, 20)) == {2}
    sw.rollback_deployment("live", reason="regression")
    server.state.refresh()
    assert set(_versions(client, churn, 20)) == {1}
    actions = [e.action for e in current().deployments.history("live")]
    assert actions == [
        "deploy:direct",
        "deploy:canary",
        "deploy:shadow",
        "deploy:blue-green",
        "promote",
        "rollback",
    ]


def test_ab_routes_each_user_to_one_variant(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    sw.deploy("live", model="churn", version=2, strategy="ab", weight=50, sticky_key="customer_id")
    client, _ = serve("live")
    records = _records(churn, 40)
    first = client.post("/v1/models/live/predict", json={"records": records}).json()["predictions"]
    again = [
        client.post("/v1/models/live/predict", json=[r]).json()["predictions"][0] for r in records
    ]
    assert first == again and set(first) == {0, 1}, "per user, the same variant every time"
    missing = client.post("/v1/models/live/predict", json=[{"spend": 1.0, "plan": "a"}])
    assert missing.status_code == 400 and "customer_id" in missing.json()["error"]["message"]


def test_an_ab_answer_gives_each_row_its_version(sw: Any, churn: Any, serve: Any) -> None:
    """Issue 23, item 4: a request split between two versions says so row by row, and names
    no single version in the header."""
    sw.deploy("live", model="churn", version=1)
    sw.deploy("live", model="churn", version=2, strategy="ab", weight=50, sticky_key="customer_id")
    client, _ = serve("live")
    records = _records(churn, 40)
    for answer in (
        client.post("/v1/models/live/predict", json={"records": records}),
        client.post("/invocations", json={"dataframe_records": records}),
    ):
        body = answer.json()
        assert body["model_versions"] == [p + 1 for p in body["predictions"]]  # v1: 0, v2: 1
        assert set(body["model_versions"]) == {1, 2}
        assert "x-model-version" not in answer.headers
    assert (
        client.post("/v1/models/live/predict", json={"records": records}).json()["model_version"]
        is None
    )
    one = client.post("/v1/models/live/predict", json=records[:1])
    version = one.json()["model_versions"][0]
    assert one.headers["x-model-version"] == str(version) == str(one.json()["model_version"])


def test_a_swap_under_load_fails_no_request(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    client, server = serve("live", log_predictions=False)
    statuses: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            statuses.append(
                client.post("/v1/models/live/predict", json=_records(churn, 1)).status_code
            )

    worker = threading.Thread(target=hammer)
    worker.start()
    register_churn(sw)  # versions 3 and 4: an archived version deploys no more, so
    try:  # each swap is to a new version, and the last one back by rollback
        for version in (2, 3, 4):
            sw.deploy("live", model="churn", version=version)
            server.state.refresh()
        sw.rollback_deployment("live")
        server.state.refresh()
        assert sw.get_deployment("live").stable == 3
    finally:
        stop.set()
        worker.join()
    assert statuses and set(statuses) == {200}


def test_a_candidate_that_fails_to_load_gets_no_traffic(
    sw: Any, churn: Any, serve: Any, settings: Any
) -> None:
    sw.deploy("live", model="churn", version=1)
    client, server = serve("live")
    run_id = sw.get_model_version("churn", 2).run_id
    run = sw.get_run(run_id)
    files = [
        a
        for a in sw.session.current().tracking.list_artifacts(run_id, "model")
        if not a.path.endswith(".json")
    ]
    stores = sw.session.current().stores
    stores.artifacts.put_bytes(
        b"tampered", f"{run.experiment_id}/{run_id}/artifacts/{files[0].path}"
    )
    sw.deploy("live", model="churn", version=2, strategy="canary", weight=50)
    server.state.refresh()
    assert set(_versions(client, churn, 30)) == {1}
    (status,) = client.get("/v1/status").json()["deployments"]
    assert status["candidate"] is None and "failed to load" in status["problem"]


def test_predictions_and_feedback_are_logged(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    sw.deploy("live", model="churn", version=2, strategy="shadow")
    client, server = serve("live")
    ids = [
        client.post("/v1/models/live/predict", json={"records": _records(churn, 2)}).json()[
            "request_id"
        ]
        for _ in range(5)
    ]
    accepted = client.post(
        "/v1/feedback", json={"records": [{"request_id": i, "label": 1} for i in ids]}
    )
    assert accepted.status_code == 202 and accepted.json() == {"accepted": 5, "unknown": 0}
    bad = client.post("/v1/feedback", json={"label": 1})
    assert bad.status_code == 400 and "request_id" in bad.json()["error"]["message"]
    sw.log_ground_truth("live", [{"key": {"customer_id": 3}, "label": 0}])
    server.log.flush()
    logged = sw.read_predictions("live")
    assert len(logged) == 10 and sorted(set(logged["request_id"])) == sorted(ids)
    assert set(logged["model_version"]) == {1} and set(logged["shadow_version"]) == {2}
    assert set(logged["output"]) == {0} and set(logged["shadow_output"]) == {1}
    assert set(logged["score"]) == {1.0}, "the confidence: these one-class dummies are sure"
    assert {"input.customer_id", "input.spend", "input.plan", "latency_ms"} <= set(logged.columns)
    labels = sw.read_predictions("live", kind="ground_truth")
    assert len(labels) == 6 and set(labels["request_id"].dropna()) == set(ids)
    keys = stores_keys(sw)
    assert any("predictions/deployment=live/date=" in k and "/hour=" in k for k in keys)
    import duckdb

    root = sw.session.current().stores.artifacts.root
    query = (
        f"SELECT deployment, model_version, count(*) AS n FROM read_parquet("
        f"'{root}/predictions/**/*.parquet', hive_partitioning = true) GROUP BY ALL"
    )
    assert duckdb.sql(query).fetchall() == [("live", 1, 10)], "DuckDB reads the log as one table"


def stores_keys(sw: Any) -> list[str]:
    return sw.session.current().stores.artifacts.list("predictions")


def test_a_full_log_drops_and_counts_instead_of_growing(sw: Any, churn: Any, serve: Any) -> None:
    sw.deploy("live", model="churn", version=1)
    client, server = serve("live")
    server.log.max_pending = 3
    for _ in range(4):
        assert (
            client.post("/v1/models/live/predict", json={"records": _records(churn, 2)}).status_code
            == 200
        )
    assert server.log.dropped >= 2 and server.log.pending <= 3
    assert "shipway_prediction_log_dropped_rows" in client.get("/metrics").text


def test_serving_a_stage_follows_it(sw: Any, churn: Any, serve: Any) -> None:
    sw.promote("churn", 1, to="production")
    client, server = serve("models:/churn@production")
    answer = client.post("/v1/models/churn/predict", json=_records(churn, 1))
    assert answer.headers["x-model-version"] == "1"
    sw.promote("churn", 2, to="production")
    server.state.refresh()
    answer = client.post("/v1/models/churn/predict", json=_records(churn, 1))
    assert answer.headers["x-model-version"] == "2"
    assert sw.get_deployment("churn").follow == "production"
    assert sw.get_deployment("churn").strategy == Strategy.DIRECT


def test_live_traffic_is_profiled_against_the_training_reference(sw: Any, serve: Any) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from shipway.stats.profile import profile_distance

    rng = np.random.default_rng(3)
    train = pd.DataFrame({"x": rng.normal(size=500), "colour": rng.choice(["red", "blue"], 500)})
    model = LogisticRegression().fit(train[["x"]], train["x"] > 0)
    with sw.start_run(experiment="p") as run:
        sw.log_dataset("training", train, role="train")
        run.log_model(model, "model", input_example=train[["x"]].head())
    sw.register_model(run, "scored")
    sw.deploy("live", model="scored", version=1)
    client, server = serve("live")
    for _ in range(2):  # two segments, merged when read
        shifted = pd.DataFrame({"x": rng.normal(loc=2.0, size=50)})
        assert (
            client.post(
                "/v1/models/live/predict", json={"records": shifted.to_dict("records")}
            ).status_code
            == 200
        )
        server.log.flush()
    live = sw.traffic_profile("live", version=1)
    assert live is not None and live.rows == 100
    reference = sw.get_dataset("training").profile
    assert live.columns["x"].edges == reference["columns"]["x"]["edges"], (
        "bins line up with the reference"
    )
    assert set(live.columns) == {"x", "prediction"}
    from shipway.stats.profile import DatasetProfile

    _, distance = profile_distance(
        DatasetProfile.from_dict(reference).columns["x"], live.columns["x"]
    )
    assert distance > 0.5, "a 2-sigma shift is plain in the profiles alone"
    assert sw.traffic_profile("live", version=7) is None
    assert sw.traffic_profile("live", start=0, end=1) is None


def test_input_the_model_refuses_is_a_422_not_a_500(sw: Any, serve: Any) -> None:
    import pandas as pd
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    train = pd.DataFrame({"colour": ["red", "blue"] * 10})
    model = make_pipeline(OneHotEncoder(), DecisionTreeClassifier()).fit(train, [0, 1] * 10)
    with sw.start_run() as run:
        run.log_model(model, "model", input_example=train.head())
    sw.register_model(run, "strict")
    sw.deploy("strict", model="strict", version=1)
    client, _ = serve("strict")
    answer = client.post("/v1/models/strict/predict", json=[{"colour": "green"}])
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "MODEL_REFUSED_INPUT"
    assert "green" in answer.json()["error"]["message"]


def test_an_ab_sticky_key_the_model_does_not_take_is_refused_at_deploy(sw: Any, churn: Any) -> None:
    """Issue 23, item 8: a typo in the key would refuse every request; it is refused now."""
    from shipway.errors import InvalidArgument

    sw.deploy("live", model="churn", version=1)
    with pytest.raises(InvalidArgument, match="did you mean 'customer_id'") as refused:
        sw.deploy(
            "live", model="churn", version=2, strategy="ab", weight=50, sticky_key="custmer_id"
        )
    assert "its inputs: customer_id, spend, plan" in str(refused.value)
    assert sw.get_deployment("live").candidate is None, "nothing changed"
    sw.deploy("live", model="churn", version=2, strategy="ab", weight=50, sticky_key="customer_id")
