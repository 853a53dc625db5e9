"""kill -9 of a model server under 16 clients loses only rows answered in its last second,
as the README says: rows are taken for writing on a fixed beat, not one wait after each
write (issue 22, item 10)."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import stop_process
from tests.serving.conftest import register_churn, start_model_server_process

CLIENTS = 16


def test_a_killed_model_server_lost_nothing_older_than_a_second(
    sw: Any, settings: Any, tmp_path: Path
) -> None:
    frame = register_churn(sw)
    sw.deploy("churn-live", model="churn", version=1)
    records = frame[["customer_id", "spend", "plan"]].head(5).to_dict("records")
    server, port = start_model_server_process(settings, tmp_path, "churn-live")
    answered: list[tuple[str, float]] = []
    lock = threading.Lock()
    stop = threading.Event()
    url = f"http://127.0.0.1:{port}/v1/models/churn-live/predict"

    def client() -> None:
        with httpx.Client(timeout=10) as http:
            for _ in range(2000):  # bounded: the kill ends it long before
                if stop.is_set():
                    return
                try:
                    answer = http.post(url, json={"records": records})
                except httpx.HTTPError:
                    return  # the server is gone
                if answer.status_code == 200:
                    with lock:
                        answered.append((answer.json()["request_id"], time.time()))

    try:
        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60

        def aged() -> int:  # answers already over a second old: what the test judges
            return sum(1 for _, at in list(answered) if at < time.time() - 1.0)

        # traffic for several seconds of writes, then the kill: however fast the server
        # answers, at least 600 answers are over a second old when it dies
        while len(answered) < 1500 or aged() < 600:
            assert time.monotonic() < deadline and server.poll() is None
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        killed_at = time.time()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        stop.set()
        stop_process(server, signal.SIGKILL)
    logged = set(sw.read_predictions("churn-live")["request_id"])
    old = [rid for rid, at in answered if at < killed_at - 1.0]
    lost = [rid for rid in old if rid not in logged]
    assert len(old) > 500, "enough traffic older than a second to judge"
    assert lost == [], f"{len(lost)} of {len(old)} rows answered over a second before the kill"
