"""A bounded hostile fuzz of both servers, beyond what schemathesis generates from the schema:
deep nesting, huge filters and order lists, NUL and control characters, values of the wrong
JSON type for each field or column, duplicate keys. No answer may be a 5xx, and no row that
a well-formed request wrote in between may go missing.

Examples are derandomized so CI is repeatable; raise ``EXAMPLES`` locally to search harder.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import Secured
from tests.serving.conftest import error_message, register_churn

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

_TEXT = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc"]), max_size=40
)
_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    _TEXT,
    st.sampled_from(["\x00", "a\x00b", "\u202e", "'; DROP TABLE runs; --", "../../etc/passwd"]),
)
_VALUE = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


def _deep(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)


_DEEP = st.builds(
    _deep, st.sampled_from([1000, 3000, 999, 40]), st.sampled_from(["array", "object"])
)
_FILTER = st.one_of(
    _TEXT,
    st.sampled_from([40, 1000, 3000]).map(lambda n: "(" * n + "metrics.m > 0" + ")" * n),
    st.sampled_from([101, 2000]).map(lambda n: " or ".join(["metrics.m > 0"] * n)),
    st.sampled_from([33, 10_000]).map(lambda n: "not " * n + "metrics.m > 0"),
)
_ORDER = st.lists(
    st.one_of(_TEXT, st.integers(0, 99).map(lambda i: f"metrics.m{i} DESC")), max_size=80
)


def _raw(body: Any) -> bytes:
    """JSON text as a hostile client would send it: NaN and Infinity included."""
    return json.dumps(body, allow_nan=True).encode()


def _platform_bases(run: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """One well-formed body per operation; the fuzz spoils one part of it at a time."""
    metric = {"key": "m", "value": 1.0, "step": 0, "timestamp": 1.7e9}
    return {
        "/experiments": ("POST", {"name": "fz", "tags": {"a": "b"}}),
        "/runs": (
            "POST",
            {"experiment": "fuzz", "name": "r", "params": {"p": "1"}, "tags": {"t": "v"}},
        ),
        "/runs/search": (
            "POST",
            {
                "experiments": ["fuzz"],
                "filter": "metrics.m > 0",
                "order_by": ["metrics.m DESC"],
                "max_results": 10,
            },
        ),
        f"/runs/{run}/log-batch": (
            "POST",
            {"metrics": [metric], "params": {"q": "1"}, "tags": {"t": "v"}},
        ),
        f"/runs/{run}/inputs": (
            "POST",
            {"inputs": [{"name": "d", "digest": "blake3:00", "role": "train", "rows": 3}]},
        ),
        "/models/m/versions": ("POST", {"source": run, "description": "d"}),
        "/models/m/versions/1/stage": ("POST", {"stage": "staging", "reason": "r"}),
        "/models/m/policy": ("PUT", {"required_approvals": 0, "two_person_rule": False}),
        "/models/m/aliases/champion": ("PUT", {"version": 1, "reason": "r"}),
        "/environments": ("POST", {"python": "3.11", "packages": {"a": "1"}}),
    }


def _every_shape(body: dict[str, Any]) -> list[bytes]:
    """Whole-document spoils tried on every operation, not left to chance: nested past the
    parser's depth, a duplicate key with another type, and documents that are not objects."""
    shapes = [_deep(n, kind).encode() for n in (999, 1000, 3000) for kind in ("array", "object")]
    for key in body:
        shapes.append(_raw(body)[:-1] + b", " + json.dumps(key).encode() + b': {"x": [1]}}')
    return shapes + [b"null", b"[]", b'"text"', b"NaN", b"1e999", b"{", b"\xff\xfe"]


def _spoil(draw: Any, body: dict[str, Any]) -> bytes:
    """``body`` with one part spoiled: a field's value, a nested value, an extra field, or
    the whole document (nested too deep, duplicate keys, not an object, a hostile filter)."""
    form = draw(
        st.sampled_from(
            ["deep", "field", "nested", "extra", "duplicate", "not object", "filter", "order"]
        )
    )
    if form == "deep":
        return draw(_DEEP).encode()  # type: ignore[no-any-return]
    if form == "not object":
        return _raw(draw(_VALUE))
    spoiled = json.loads(json.dumps(body))
    key = draw(st.sampled_from(sorted(spoiled)))
    if form == "nested":
        _spoil_nested(draw, spoiled[key])
    elif form != "duplicate":
        target = {"field": key, "extra": draw(_TEXT), "filter": "filter", "order": "order_by"}
        source = {"filter": _FILTER, "order": _ORDER}.get(form, _VALUE)
        spoiled[target[form]] = draw(source)
    raw = _raw(spoiled)
    if form == "duplicate":
        raw = raw[:-1] + b", " + json.dumps(key).encode() + b": " + _raw(draw(_VALUE)) + b"}"
    return raw


def _spoil_nested(draw: Any, value: Any) -> None:
    """One value inside a list or an object spoiled in place."""
    if not isinstance(value, dict | list) or not value:
        return
    inner = value[0] if isinstance(value, list) else value
    if isinstance(inner, dict) and inner:
        inner[draw(st.sampled_from(sorted(inner)))] = draw(_VALUE)
    elif isinstance(value, list):
        value[0] = draw(_VALUE)


@st.composite
def _platform_request(draw: Any, run: str) -> tuple[str, str, bytes]:
    path, (method, body) = draw(st.sampled_from(sorted(_platform_bases(run).items())))
    if draw(st.integers(0, 9)) == 0:  # now and then a hostile path parameter instead
        path = path.replace("/m/", "/" + quote(draw(_TEXT) or "x", safe="") + "/")
    return method, path, _spoil(draw, body)


def test_the_platform_server_takes_hostile_input_without_a_5xx(secured_any: Secured) -> None:
    with secured_any.http("ada") as http:
        control = http.post("/runs", json={"experiment": "control"}).json()["run_id"]
        victim = http.post("/runs", json={"experiment": "fuzz"}).json()["run_id"]
        steps = [0]

        @FUZZ
        @given(_platform_request(victim))
        def hostile(request: tuple[str, str, bytes]) -> None:
            method, path, body = request
            answer = http.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code < 500, (method, path, body[:200], answer.text[:300])
            if answer.status_code >= 400:
                assert error_message(answer)
            good = {"metrics": [{"key": "alive", "value": 1.0, "step": steps[0]}]}
            assert http.post(f"/runs/{control}/log-batch", json=good).status_code == 204
            steps[0] += 1

        for path, (method, body) in _platform_bases(victim).items():
            for shape in _every_shape(body):
                hostile.hypothesis.inner_test((method, path, shape))  # type: ignore[attr-defined]
        hostile()
        history = http.get(f"/runs/{control}/metrics/alive").json()
    assert [m["step"] for m in history] == list(range(steps[0])), "no well-formed write was lost"


_RECORD = {"customer_id": 7, "spend": 1.5, "plan": "a"}


def _model_bases() -> dict[str, dict[str, Any]]:
    tensors = [
        {"name": k, "shape": [1], "datatype": "BYTES" if k == "plan" else "FP64", "data": [v]}
        for k, v in _RECORD.items()
    ]
    return {
        "/v1/models/churn-live/predict": {"records": [dict(_RECORD)]},
        "/v2/models/churn-live/infer": {"id": "x", "inputs": tensors},
        "/invocations": {"dataframe_records": [dict(_RECORD)]},
        "/v1/feedback": {"request_id": "r", "label": 1, "row": 0},
    }


@st.composite
def _model_request(draw: Any) -> tuple[str, bytes]:
    record = _RECORD
    bases = _model_bases()
    path = draw(st.sampled_from(sorted(bases)))
    body = bases[path]
    if draw(st.integers(0, 2)) == 0:  # spoil one column of the record, or one part of a tensor
        inner = json.loads(json.dumps(body))
        if path.endswith("/infer"):
            tensor = draw(st.sampled_from(inner["inputs"]))
            tensor[draw(st.sampled_from(["shape", "datatype", "data", "name"]))] = draw(_VALUE)
        elif path != "/v1/feedback":
            rows = inner["records"] if "records" in inner else inner["dataframe_records"]
            rows[0][draw(st.sampled_from(sorted(record)))] = draw(_VALUE)
        else:
            inner[draw(st.sampled_from(["request_id", "label", "row", "key"]))] = draw(_VALUE)
        return path, _raw(inner)
    return path, _spoil(draw, body)


def test_the_model_server_takes_hostile_input_without_a_5xx_or_a_lost_row(
    sw: Any, model_server: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    server = model_server("churn-live")
    answered: list[str] = []
    with server.http() as http:

        @FUZZ
        @given(_model_request())
        def hostile(request: tuple[str, bytes]) -> None:
            path, body = request
            answer = http.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code < 500, (path, body[:200], answer.text[:300])
            if answer.status_code >= 400:
                assert error_message(answer)
            good = {"records": [{"customer_id": len(answered), "spend": 1.0, "plan": "a"}]}
            ok = http.post("/v1/models/churn-live/predict", json=good)
            assert ok.status_code == 200
            answered.append(ok.json()["request_id"])

        for path, body in _model_bases().items():
            for shape in _every_shape(body):
                hostile.hypothesis.inner_test((path, shape))  # type: ignore[attr-defined]
        hostile()
    server.stop()
    logged = set(sw.read_predictions("churn-live")["request_id"])
    assert set(answered) <= logged, "a well-formed request's row went missing"
    assert server.log.dropped == 0
