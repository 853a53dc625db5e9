"""An editor's evaluate request may check, never act: no command runs, no deployment moves and
no address is reached because of rules sent in a request (issue 22, item 1)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.security.conftest import Secured
from tests.serving.conftest import predict_as, register_churn
from tests.serving.conftest import serve as serve  # the fixture, here too


@pytest.fixture
def listener() -> Any:
    """A loopback socket that records whether anyone connected to it (the SSRF target)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    connected: list[bool] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            connected.append(True)
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield sock.getsockname()[1], connected
    stop.set()
    thread.join()
    sock.close()


def _served_traffic(sw: Any, serve: Any, token: str) -> None:
    frame = register_churn(sw)
    sw.log_dataset("churn-train", frame)
    sw.deploy("churn-live", model="churn", version=1)
    client, server = serve("churn-live")
    predict_as(client, token, frame[["customer_id", "spend", "plan"]].to_dict("records"), 5)
    server.log.flush()


def _rule(**extra: Any) -> dict[str, Any]:
    return {
        "name": "any rows",
        "metric": "rows",
        "op": ">=",
        "threshold": 1,
        "min_rows": 1,
        **extra,
    }


def test_an_editors_rules_run_no_command_move_no_deployment_and_reach_no_address(
    secured: Secured, sw: Any, serve: Any, tmp_path: Path, listener: Any
) -> None:
    _served_traffic(sw, serve, secured.tokens["vera"])
    sw.deploy("churn-live", model="churn", version=2)  # a rollback would go back to 1
    port, connected = listener
    planted = tmp_path / "pwned"
    attacks = [
        _rule(sinks=["log", f"command:touch {planted}"]),
        _rule(action="retrain", command=f"touch {planted}"),
        _rule(action="rollback", severity="critical"),
        _rule(sinks=[f"webhook:http://127.0.0.1:{port}/hook"]),
        _rule(sinks=[f"slack:http://127.0.0.1:{port}/hook"]),
        _rule(sinks=["email:root@localhost"]),
    ]
    with secured.http("ed") as editor:
        for rule in attacks:
            answer = editor.post(
                "/monitoring/churn-live/evaluate", json={"window": "1000", "rules": [rule]}
            )
            assert answer.status_code == 403, (rule, answer.text)
            error = answer.json()["error"]
            assert "a request's rules may only check" in error["message"]
            assert "[[alerts]]" in str(error), error
        assert not planted.exists(), "no command ran"
        assert connected == [], "the server reached no address named in a request"
        assert sw.get_deployment("churn-live").stable == 2, "nothing rolled back"
        assert sw.alerts(deployment="churn-live") == [], "a refused request records nothing"

        checked = editor.post(
            "/monitoring/churn-live/evaluate",
            json={"window": "1000", "reference": "churn-train@1", "rules": [_rule(sinks=["log"])]},
        )
        assert checked.status_code == 200, checked.text
        newest = checked.json()[-1]
        assert newest["rows"] >= 1
        assert newest["extra"]["rules"] == [
            {"rule": "any rows", "breached": True, "value": float(newest["rows"])}
        ], "a rule that only checks is judged and its verdict returned"
    assert sw.alerts(deployment="churn-live") == [], "and nothing is stored: no alert to mute"
    with secured.http("ed") as editor:
        assert editor.post("/deployments/churn-live/rollback", json={}).status_code == 403
