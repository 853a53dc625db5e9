"""The evidence that decides a canary or starts a training is written only by those allowed
to: labels only for requests that exist, from the caller that made them or a labeller;
health records and log segments only from a model server's own identity (issue 22, item 4)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from shipway.store import open_stores
from shipway.store.token_store import TokenStore
from tests.security.conftest import Secured
from tests.serving.conftest import LiveModelServer, register_churn
from tests.serving.conftest import model_server as model_server  # the fixture, here too

RECORD = {"customer_id": 1, "spend": 0.5, "plan": "a"}


def _token(settings: Any, user: str, role: str) -> str:
    stores = open_stores(settings)
    try:
        return TokenStore(stores.db).create(user, role)[0]
    finally:
        stores.close()


def _predict(server: LiveModelServer, token: str, n: int) -> list[str]:
    with server.http(Authorization=f"Bearer {token}") as http:
        return [
            http.post("/v1/models/churn-live/predict", json={"records": [RECORD]}).json()[
                "request_id"
            ]
            for _ in range(n)
        ]


def _feedback(server: LiveModelServer, token: str, records: list[dict[str, Any]]) -> Any:
    with server.http(Authorization=f"Bearer {token}") as http:
        return http.post("/v1/feedback", json={"records": records})


def _labels(sw: Any) -> Any:
    return sw.read_predictions("churn-live", kind="ground_truth")


def test_a_model_server_keeps_labels_only_from_whoever_asked_or_a_labeller(
    sw: Any, settings: Any, model_server: Any
) -> None:
    from shipway.automation.facts import labels_after

    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    app, mallory = _token(settings, "app", "predict"), _token(settings, "mallory", "predict")
    truth, viewer = _token(settings, "truth", "labeller"), _token(settings, "vera", "viewer")
    server = model_server("churn-live")
    theirs = _predict(server, app, 4)  # labelled below before the log has written them
    _predict(server, mallory, 1)

    forged = _feedback(server, mallory, [{"request_id": i, "label": 0} for i in theirs])
    assert forged.status_code == 403, forged.text
    assert "mallory may label only requests it made" in forged.json()["error"]["message"]
    by_key = _feedback(server, mallory, [{"key": {"customer_id": 1}, "label": 0}])
    assert by_key.status_code == 403 and "labeller role" in by_key.text

    for token in (mallory, viewer):  # 600 labels for requests no server answered
        invented = [{"request_id": f"made-up-{i}", "label": 1} for i in range(300)]
        answer = _feedback(server, token, invented)
        assert answer.status_code == 202 and answer.json() == {"accepted": 0, "unknown": 300}

    own = _feedback(server, app, [{"request_id": theirs[0], "label": 1}])
    assert own.json() == {"accepted": 1, "unknown": 0}, "the caller labels its own request"
    anyone = _feedback(server, truth, [{"request_id": i, "label": 1} for i in theirs[1:]])
    assert anyone.json() == {"accepted": 3, "unknown": 0}, "a labeller labels any request"
    server.stop()

    labels = _labels(sw)
    assert sorted(labels["request_id"]) == sorted(theirs) and set(labels["label"]) == {1}
    session = sw.session.current()
    assert labels_after(session, "churn-live", None)[0] == 4, "a labels:500 trigger saw 4"
    from shipway.serving.prediction_log import read_health

    health = read_health(session.stores.artifacts, "churn-live")
    assert sum(r.get("unknown_labels", 0) for r in health) == 600, "counted apart"


def _segment_key(kind: str, suffix: str) -> str:
    hour = time.strftime("date=%Y-%m-%d/hour=%H", time.gmtime())
    return f"{kind}/deployment=churn-live/{hour}/{time.time_ns()}-forged{suffix}"


def test_only_a_model_servers_identity_writes_the_log_and_it_must_read(
    secured: Secured, sw: Any, settings: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    bot = _token(settings, "serve-bot", "server")
    forged_health = {
        "time": time.time(),
        "errors": {"500": 900},
        "errors_by_version": {"1": 900},
        "error_times_by_version": {"1": [time.time()] * 900},
        "dropped_rows": 0,
    }
    body = json.dumps(forged_health).encode()
    for user in ("vera", "ed", "alice", "apollo"):
        with secured.http(user) as http:
            refused = http.put(f"/logs/{_segment_key('health', '.json')}", content=body)
            assert refused.status_code == 403, (user, refused.text)
            assert "needs the server role" in refused.text
    assert sw.session.current().stores.artifacts.list("health") == []

    junk = io.BytesIO()
    pq.write_table(pa.table({"label": ["spam"]}), junk)
    with httpx.Client(
        base_url=f"{secured.url}/api/v1", headers={"Authorization": f"Bearer {bot}"}
    ) as server:
        for key, data in (
            (_segment_key("predictions", ".parquet"), b"PAR1 not parquet at all"),
            (_segment_key("ground_truth", ".parquet"), junk.getvalue()[:-20]),
            (_segment_key("ground_truth", ".parquet"), junk.getvalue()),  # no timestamp
            (_segment_key("health", ".json"), b'{"time": "yesterday"}'),
            (_segment_key("health", ".parquet"), body),
            (_segment_key("profiles", ".json"), b'{"columns": 3}'),
        ):
            refused = server.put(f"/logs/{key}", content=data)
            assert refused.status_code == 400, (key, refused.text)
            assert refused.json()["error"]["code"] == "INVALID_ARGUMENT"
        stored = server.put(f"/logs/{_segment_key('health', '.json')}", content=body)
        assert stored.status_code == 201, "the server's own identity writes its health"


def test_the_platforms_ground_truth_binds_labels_to_requests_and_callers(
    secured: Secured, sw: Any, settings: Any, model_server: Any
) -> None:
    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    app = _token(settings, "app", "predict")
    server = model_server("churn-live")
    theirs = _predict(server, app, 3)
    server.stop()  # the log has them now

    for user in ("vera", "ed"):
        with secured.http(user) as http:
            forged = http.post(
                "/deployments/churn-live/ground-truth",
                json={"records": [{"request_id": i, "label": 0} for i in theirs]},
            )
            assert forged.status_code == 403, (user, forged.text)
            invented = http.post(
                "/deployments/churn-live/ground-truth",
                json={"records": [{"request_id": f"nope-{i}", "label": 0} for i in range(300)]},
            )
            assert invented.json() == {"accepted": 0, "unknown": 300}
    assert len(_labels(sw)) == 0

    with httpx.Client(
        base_url=f"{secured.url}/api/v1", headers={"Authorization": f"Bearer {app}"}
    ) as http:
        text = http.post(
            "/deployments/churn-live/ground-truth",
            json={"records": [{"request_id": theirs[0], "label": "spam"}]},
        )
        assert text.status_code == 400 and "not a finite number" in text.text
        own = http.post(
            "/deployments/churn-live/ground-truth",
            json={"records": [{"request_id": i, "label": True} for i in theirs]},
        )
        assert own.json() == {"accepted": 3, "unknown": 0}
    with secured.http("apollo") as approver:  # an approver may label any request
        assert (
            approver.post(
                "/deployments/churn-live/ground-truth",
                json={"records": [{"request_id": theirs[0], "label": 0}]},
            ).json()["accepted"]
            == 1
        )
    labels = _labels(sw)
    assert len(labels) == 4 and str(labels["label"].dtype) == "int64"


def test_a_reused_request_id_or_a_repeated_row_buys_no_say(
    sw: Any, settings: Any, model_server: Any
) -> None:
    """A caller who sends another's request id as its own cannot label that request, and
    one request labelled 500 times over counts as its rows for a labels:N trigger."""
    from shipway.automation.facts import labels_after

    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    app, mallory = _token(settings, "app", "predict"), _token(settings, "mallory", "predict")
    truth = _token(settings, "truth", "labeller")
    server = model_server("churn-live")
    (theirs,) = _predict(server, app, 1)
    with server.http(Authorization=f"Bearer {mallory}") as http:
        reused = http.post(
            "/v1/models/churn-live/predict",
            json={"records": [RECORD, RECORD]},
            headers={"x-request-id": theirs},
        )
        assert reused.headers["x-request-id"] == theirs
    for token in (mallory, app):
        contested = _feedback(server, token, [{"request_id": theirs, "label": 0}])
        assert contested.status_code == 403, contested.text
    (mine,) = _predict(server, mallory, 1)
    repeated = [{"request_id": mine, "row": 0, "label": 1}] * 500
    repeated += [{"request_id": mine, "row": 7, "label": 1}]  # a row the request never had
    answer = _feedback(server, mallory, repeated)
    assert answer.json() == {"accepted": 1, "unknown": 1}
    assert _feedback(server, truth, [{"request_id": theirs, "label": 1}]).json()["accepted"] == 1
    server.stop()
    assert labels_after(sw.session.current(), "churn-live", None)[0] == 2


def test_a_model_server_whose_token_cannot_write_the_log_is_refused_at_start(
    secured: Secured, sw: Any
) -> None:
    import pytest

    from shipway.errors import Forbidden
    from shipway.serving.server import open_model_server

    register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    editor = secured.settings_for("ed")
    with pytest.raises(Forbidden, match="needs the server role"):
        open_model_server(editor, ["churn-live"], poll_seconds=3600)
    quiet = open_model_server(editor, ["churn-live"], log_predictions=False, poll_seconds=3600)
    quiet.session.close()  # without a log, an editor's token serves
