"""The model server as Triton's own client (tritonclient.http) sees it, with its defaults:
binary tensors both ways, BYTES inputs, truthful metadata, errors in the protocol's shape.
The codec is also checked datatype by datatype against the bodies tritonclient writes and
reads, so each side is the real client's, not ours."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import tritonclient.http as tritonclient_http
from hypothesis import given, settings
from hypothesis import strategies as st
from tritonclient.utils import InferenceServerException

from shipway.errors import InvalidArgument
from shipway.serving import oip
from tests.serving.conftest import register_churn

ROWS = 60


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame(
        {
            "customer_id": np.arange(ROWS, dtype=np.int64),
            "spend": rng.normal(size=ROWS),
            "plan": rng.choice(["basic", "pro", "team"], size=ROWS),
        }
    )


def _classifier(labels: Any) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = _frame()
    encode = ColumnTransformer([("plan", OneHotEncoder(), ["plan"])], remainder="passthrough")
    return make_pipeline(encode, LogisticRegression(max_iter=500)).fit(frame, labels)


def _deploy_classifier(sw: Any) -> Any:
    """A classifier with integer labels deployed as ``churn-live``; returns the model."""
    frame = _frame()
    model = _classifier((frame["spend"] > 0).astype(int))
    with sw.start_run(experiment="churn") as run:
        run.log_model(model, "model", input_example=frame.head())
    sw.register_model(run, "churn")
    sw.deploy("churn-live", model="churn", version=1)
    return model


@pytest.fixture
def churn_live(sw: Any, model_server: Any) -> tuple[Any, Any]:
    """A deployed classifier with integer labels, live on loopback, and the fitted model."""
    model = _deploy_classifier(sw)
    return model_server("churn-live"), model


def _client(server: Any) -> Any:
    return tritonclient_http.InferenceServerClient(server.url.removeprefix("http://"))


def _inputs(frame: pd.DataFrame, binary: bool = True) -> list[Any]:
    inputs = []
    for column, datatype, values in (
        ("customer_id", "INT64", frame["customer_id"].to_numpy()),
        ("spend", "FP64", frame["spend"].to_numpy()),
        ("plan", "BYTES", frame["plan"].to_numpy(dtype=object)),
    ):
        tensor = tritonclient_http.InferInput(column, [len(frame)], datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


def test_tritonclient_with_its_defaults_gets_predictions_and_probabilities(
    churn_live: tuple[Any, Any],
) -> None:
    server, model = churn_live
    frame = _frame()
    result = _client(server).infer("churn-live", _inputs(frame))  # binary in, binary out
    predicted = result.as_numpy("predict")
    assert predicted.dtype == np.int64
    assert predicted.tolist() == model.predict(frame).tolist()
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (ROWS, 2)
    np.testing.assert_allclose(probabilities, model.predict_proba(frame))
    classes = result.get_output("probabilities")["parameters"]["classes"]
    assert classes == ["0", "1"]
    assert result.as_numpy("model_version").tolist() == [1] * ROWS
    assert result.get_response()["model_version"] == "1"


def test_json_tensors_and_one_output_asked_for_as_json(churn_live: tuple[Any, Any]) -> None:
    server, model = churn_live
    frame = _frame().head(7)
    wanted = [tritonclient_http.InferRequestedOutput("predict", binary_data=False)]
    result = _client(server).infer("churn-live", _inputs(frame, binary=False), outputs=wanted)
    assert result.get_output("predict")["data"] == model.predict(frame).tolist()
    assert result.get_output("probabilities") is None  # not asked for, not computed


def test_metadata_says_what_the_model_answers(churn_live: tuple[Any, Any]) -> None:
    server, _ = churn_live
    client = _client(server)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("churn-live")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    metadata = client.get_model_metadata("churn-live")
    assert {i["name"]: i["datatype"] for i in metadata["inputs"]} == {
        "customer_id": "INT64",
        "spend": "FP64",
        "plan": "BYTES",
    }
    assert [(o["name"], o["datatype"], o["shape"]) for o in metadata["outputs"]] == [
        ("predict", "INT64", [-1]),
        ("probabilities", "FP64", [-1, 2]),
        ("model_version", "INT64", [-1]),
    ]


def test_errors_come_back_in_the_protocol_shape(churn_live: tuple[Any, Any]) -> None:
    server, _ = churn_live
    client = _client(server)
    frame = _frame().head(3)
    wrong = _inputs(frame)
    spend = tritonclient_http.InferInput("spend", [3], "BYTES")
    spend.set_data_from_numpy(np.array([b"1", b"2", b"3"], dtype=object))
    wrong[1] = spend
    with pytest.raises(InferenceServerException) as refused:
        client.infer("churn-live", wrong)
    assert "('spend') is BYTES" in refused.value.message()
    assert "send it as FP64" in refused.value.message()
    with pytest.raises(InferenceServerException) as unknown:
        client.infer("nope", _inputs(frame))
    assert "does not serve 'nope'" in unknown.value.message()
    with server.http() as http:  # the body tritonclient reads: {"error": "message"}
        answer = http.post("/v2/models/churn-live/infer", content=b"{not json")
        assert answer.status_code == 400
        assert isinstance(answer.json()["error"], str)
        assert http.get("/v2/nowhere").json() == {"error": "no route /v2/nowhere"}


def test_an_ab_split_names_each_rows_version_and_no_single_one(sw: Any, model_server: Any) -> None:
    """Issue 23, item 4: rows of one request answered by two versions each say which."""
    frame = _frame()
    register_churn(sw, ROWS)  # version 1 answers 0, version 2 answers 1
    sw.deploy("churn-live", model="churn", version=1)
    sw.deploy(
        "churn-live", model="churn", version=2, strategy="ab", weight=50, sticky_key="customer_id"
    )
    server = model_server("churn-live")
    result = _client(server).infer("churn-live", _inputs(frame))
    versions = result.as_numpy("model_version").tolist()
    assert set(versions) == {1, 2}
    assert result.as_numpy("predict").tolist() == [v - 1 for v in versions]
    assert "model_version" not in result.get_response(), "two versions answered: no one version"
    assert "x-model-version" not in _raw_headers(server, frame)


def _raw_headers(server: Any, frame: pd.DataFrame) -> dict[str, str]:
    body = {
        "inputs": [
            {
                "name": "customer_id",
                "datatype": "INT64",
                "shape": [len(frame)],
                "data": frame["customer_id"].tolist(),
            },
            {
                "name": "spend",
                "datatype": "FP64",
                "shape": [len(frame)],
                "data": frame["spend"].tolist(),
            },
            {
                "name": "plan",
                "datatype": "BYTES",
                "shape": [len(frame)],
                "data": frame["plan"].tolist(),
            },
        ]
    }
    with server.http() as http:
        answer = http.post("/v2/models/churn-live/infer", json=body)
    assert answer.status_code == 200
    return dict(answer.headers)


def test_labels_and_probabilities_come_from_one_model_pass(
    sw: Any, model_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 23, item 17: asking for every output does not run the model twice."""
    from sklearn.pipeline import Pipeline

    frame = _frame()
    model = _deploy_classifier(sw)
    server = model_server("churn-live", log_predictions=False)  # the log scores rows too
    expected = model.predict(frame).tolist(), model.predict_proba(frame)
    calls: list[str] = []
    for method in ("predict", "predict_proba"):
        original = getattr(Pipeline, method)

        def counted(self: Any, x: Any, _original: Any = original, _name: str = method) -> Any:
            calls.append(_name)
            return _original(self, x)

        monkeypatch.setattr(Pipeline, method, counted)
    result = _client(server).infer("churn-live", _inputs(frame))
    assert calls == ["predict_proba"]
    assert result.as_numpy("predict").tolist() == expected[0]
    np.testing.assert_allclose(result.as_numpy("probabilities"), expected[1])


def test_only_classifiers_known_to_label_by_argmax_take_one_pass() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import SGDClassifier

    from shipway.serving import argmax

    x, y = np.arange(20.0).reshape(-1, 1), np.arange(20) % 2
    assert argmax.is_argmax_classifier(RandomForestClassifier(n_estimators=3).fit(x, y))
    assert not argmax.is_argmax_classifier(SGDClassifier(loss="log_loss").fit(x, y))
    assert not argmax.is_argmax_classifier(RandomForestClassifier())  # not fitted: no classes


def test_a_string_labelled_classifier_answers_bytes(sw: Any, model_server: Any) -> None:
    frame = _frame()
    labels = np.where(frame["spend"] > 0, "stays", "leaves")
    model = _classifier(labels)
    with sw.start_run(experiment="churn") as run:
        run.log_model(model, "model", input_example=frame.head())
    sw.register_model(run, "labels")
    sw.deploy("labels-live", model="labels", version=1)
    server = model_server("labels-live")
    client = _client(server)
    assert client.get_model_metadata("labels-live")["outputs"][0]["datatype"] == "BYTES"
    result = client.infer("labels-live", _inputs(frame))
    answered = [v.decode() for v in result.as_numpy("predict")]
    assert answered == model.predict(frame).tolist()
    assert result.get_output("probabilities")["parameters"]["classes"] == ["leaves", "stays"]


# -- the codec, datatype by datatype, against the bodies tritonclient writes and reads -------
ALL = {
    "BOOL": np.array([True, False, True]),
    "UINT8": np.array([0, 7, 255], dtype=np.uint8),
    "UINT16": np.array([0, 7, 65535], dtype=np.uint16),
    "UINT32": np.array([0, 7, 2**32 - 1], dtype=np.uint32),
    "UINT64": np.array([0, 7, 2**64 - 1], dtype=np.uint64),
    "INT8": np.array([-128, 0, 127], dtype=np.int8),
    "INT16": np.array([-1, 0, 1], dtype=np.int16),
    "INT32": np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32),
    "INT64": np.array([-(2**63), 0, 2**63 - 1], dtype=np.int64),
    "FP16": np.array([0.5, -1.25, 2.0], dtype=np.float16),
    "FP32": np.array([0.5, -1.25, 3.4e38], dtype=np.float32),
    "FP64": np.array([0.5, -1.25, 1e308]),
    "BYTES": np.array([b"a", b"", "\u00e9t\u00e9".encode()], dtype=object),
}


# tritonclient sends BF16 only as binary (it refuses binary_data=False)
WRITTEN = [(d, b) for d in [*ALL, "BF16"] for b in (True, False) if (d, b) != ("BF16", False)]


@pytest.mark.parametrize(("datatype", "binary"), WRITTEN)
def test_every_datatype_reads_as_tritonclient_writes_it(datatype: str, binary: bool) -> None:
    values = ALL.get(datatype, np.array([0.5, -1.25, 2.0], dtype=np.float32))
    if not binary and datatype == "BYTES":
        values = np.array([v.decode() for v in values], dtype=object)
    if datatype == "BF16":
        import ml_dtypes

        values = values.astype(ml_dtypes.bfloat16)
    tensor = tritonclient_http.InferInput("x", [3], datatype)
    tensor.set_data_from_numpy(values, binary_data=binary)
    body, header = tritonclient_http.InferenceServerClient.generate_request_body([tensor])
    parsed = oip.parse_request(body, None if header is None else str(header))
    [read] = parsed.inputs
    assert read.datatype == datatype and read.shape == [3]
    if datatype == "BF16":  # read into float32, the same numbers
        values = values.astype(np.float32)
    assert list(read.values) == list(values)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("datatype", [d for d in ALL if d != "FP16"])
def test_every_datatype_is_written_as_tritonclient_reads_it(datatype: str, binary: bool) -> None:
    values = ALL[datatype]
    request = oip.InferRequest(None, [], None, binary_default=binary)
    tensor = oip.output_tensor("y", values)
    body, headers = oip.encode_response("m", 1, "r", [tensor], request)
    length = headers.get(oip.HEADER_LENGTH)
    result = tritonclient_http.InferenceServerClient.parse_response_body(
        body, header_length=int(length) if length else None
    )
    read = result.as_numpy("y")
    expected = values if datatype != "BYTES" else np.array([bytes(v) for v in values], object)
    if not binary and datatype == "BYTES":
        expected = np.array([v.decode() for v in values], dtype=object)
        read = np.array([v.decode() if isinstance(v, bytes) else v for v in read], object)
    assert list(read) == list(expected)


@pytest.mark.parametrize(
    ("tensor", "complaint"),
    [
        ({"name": "x", "shape": [3], "datatype": "FP64", "data": [1.0, 2.0]}, "2 values"),
        ({"name": "x", "shape": [2], "datatype": "INT64", "data": [1, 2.5]}, "2.5 is not one"),
        ({"name": "x", "shape": [1], "datatype": "INT8", "data": [300]}, "out of range"),
        ({"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}, "not a datatype"),
        ({"name": "x", "shape": [-1], "datatype": "FP64", "data": [1]}, "list of sizes"),
        ({"name": "x", "shape": [1], "datatype": "BOOL", "data": [1]}, "1 is not one"),
        ({"name": "x", "shape": [1], "datatype": "BYTES", "data": [1]}, "data are strings"),
    ],
)
def test_shape_and_datatype_are_checked(tensor: dict[str, Any], complaint: str) -> None:
    import json

    with pytest.raises(InvalidArgument, match=complaint):
        oip.parse_request(json.dumps({"inputs": [tensor]}).encode(), None)


def test_binary_sizes_that_do_not_add_up_are_refused() -> None:
    import json

    tensor = {"name": "x", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}}
    header = json.dumps({"inputs": [tensor]}).encode()
    with pytest.raises(InvalidArgument, match="only 8 remain"):
        oip.parse_request(header + b"\0" * 8, str(len(header)))
    with pytest.raises(InvalidArgument, match="declare 16"):
        oip.parse_request(header + b"\0" * 24, str(len(header)))
    with pytest.raises(InvalidArgument, match="Inference-Header-Content-Length"):
        oip.parse_request(header, "999999")


@settings(max_examples=300, deadline=None)
@given(
    datatype=st.sampled_from([*oip.DTYPES, "FP8", 3]),
    shape=st.lists(st.integers(-1, 4), max_size=3),
    size=st.one_of(st.none(), st.integers(-2, 40), st.text(max_size=2)),
    binary=st.binary(max_size=40),
    split=st.one_of(
        st.none(), st.just("header"), st.integers(-3, 400).map(str), st.text(max_size=3)
    ),
)
def test_any_binary_request_is_read_or_refused_with_a_400(
    datatype: Any, shape: list[int], size: Any, binary: bytes, split: str | None
) -> None:
    """Whatever the sizes, shapes and bytes, the reader answers a request or an
    InvalidArgument (a 400), never another exception (a 500)."""
    import json

    tensor: dict[str, Any] = {"name": "x", "shape": shape, "datatype": datatype}
    if size is not None:
        tensor["parameters"] = {"binary_data_size": size}
    header = json.dumps({"inputs": [tensor], "parameters": {"binary_data_output": True}})
    body = header.encode() + binary
    try:
        parsed = oip.parse_request(body, split if split != "header" else str(len(header)))
    except InvalidArgument as refused:
        assert str(refused)
    else:
        assert parsed.inputs[0].values.size == math.prod(shape)


def test_the_model_config_and_the_repository_index_answer_as_triton_does(
    churn_live: Any,
) -> None:
    """Issue 23, item 17: tools that probe these (perf_analyzer, dashboards) read them."""
    server, _ = churn_live
    client = _client(server)
    config = client.get_model_config("churn-live")
    assert config["name"] == "churn-live" and config["max_batch_size"] == 0
    assert {i["name"]: i["data_type"] for i in config["input"]} == {
        "customer_id": "TYPE_INT64",
        "spend": "TYPE_FP64",
        "plan": "TYPE_STRING",
    }
    assert [o["name"] for o in config["output"]] == [
        "predict",
        oip.PROBABILITIES,
        oip.MODEL_VERSION,
    ]
    index = client.get_model_repository_index()
    assert index == [{"name": "churn-live", "version": "1", "state": "READY", "reason": ""}]
    with pytest.raises(InferenceServerException):
        client.get_model_config("nope")
