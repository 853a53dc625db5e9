"""A server killed mid-request: its claim lapses, the client's retries finish the work, and no
value is stored twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from shipway.client import RemoteTracking
from shipway.client.transport import Transport
from shipway.store import open_stores
from shipway.store import schema as t
from shipway.store.idempotency_store import IdempotencyStore
from tests.client.conftest import client_settings, free_port, wait_until_ready
from tests.conftest import METADATA_BACKENDS, make_settings, stop_process


@pytest.mark.parametrize("metadata", METADATA_BACKENDS)
def test_a_dead_claim_is_taken_over_unless_it_was_applied(
    tmp_path: Path, request: Any, metadata: str
) -> None:
    stores = open_stores(make_settings(tmp_path, metadata, "local", request))
    store = IdempotencyStore(stores.db)
    assert store.claim("k", "f") is None
    running = store.claim("k", "f")
    assert running is not None and running.status is None and 0 < running.retry_after <= 10
    _lapse(stores.db, "k")  # its server died: nobody renews the lease
    assert store.claim("k", "f") is None, "a retry takes over a claim that changed nothing"
    assert store.claim("k", "f").status is None, "and holds it while it runs"  # type: ignore[union-attr]
    store.settle("k", 204, b"", "")
    assert store.claim("k", "f").status == 204  # type: ignore[union-attr]

    assert store.claim("k2", "f") is None
    with stores.db.write() as conn:  # the dead request's write committed, its answer did not
        conn.execute(
            t.idempotency_keys.update().values(applied=True).where(t.idempotency_keys.c.key == "k2")
        )
    _lapse(stores.db, "k2")
    lost = store.claim("k2", "f")
    assert lost is not None and lost.status is None and lost.applied, "never applied twice"
    stores.close()


def _lapse(db: Any, key: str) -> None:
    with db.write() as conn:
        conn.execute(
            t.idempotency_keys.update()
            .where(t.idempotency_keys.c.key == key)
            .values(lease_until=time.time() - 1)
        )


def _server(tmp_path: Path, database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SHIPWAY_HOME": str(tmp_path / "server-home"),
        "SHIPWAY_TRACKING_URI": database_url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipway.cli.app",
            "server",
            "--port",
            str(port),
            "--monitor-every",
            "0",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_until_ready(f"http://127.0.0.1:{port}/health/ready", process)
    return process


def _wait_for_a_blocked_query(admin: Any, table: str) -> None:
    """Until the server's query on ``table`` waits for the lock the test holds."""
    deadline = time.monotonic() + 60
    while True:  # readiness, not timing: the deadline bounds a request that never came
        with admin.connect() as conn:
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query ILIKE :q"
                ),
                {"q": f"%{table}%"},
            ).scalar()
        if waiting:
            return
        assert time.monotonic() < deadline, f"no query on {table} waited"
        time.sleep(0.05)


@pytest.mark.parametrize("blocked", ["before its write", "after its write"])
def test_a_server_killed_mid_request_doubles_nothing(
    tmp_path: Path, postgres_url: str, blocked: str
) -> None:
    """PostgreSQL lets the test hold one table's lock, so the server stops exactly where
    asked: before the metric insert commits, or after ``end`` committed, before its answer."""
    admin = sa.create_engine(postgres_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = _server(tmp_path, postgres_url, port)
    tracking = RemoteTracking(client_settings(tmp_path, url), Transport(url))
    run = tracking.create_run("crash", capture_environment=False)
    for step in range(6):
        tracking.log_metric(run.run_id, "loss", float(step), step=step)
    table, action = (
        ("metrics", tracking.flush)
        if blocked == "before its write"
        else ("params", lambda: tracking.end_run(run.run_id))  # end, then the run is read back
    )
    failures: list[BaseException] = []

    def act() -> None:
        try:
            action()
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    with admin.connect() as locker:
        locker.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        worker = threading.Thread(target=act)
        worker.start()
        _wait_for_a_blocked_query(admin, table)
        stop_process(first, signal.SIGKILL)  # mid-request, holding the claim
        locker.rollback()
    second = _server(tmp_path, postgres_url, port)  # the same address, as after a restart
    try:
        worker.join(timeout=120)
        assert not worker.is_alive() and not failures, failures
        tracking.end_run(run.run_id)
        stored = tracking.get_run(run.run_id)
        history = tracking.get_metric_history(run.run_id, "loss")
    finally:
        tracking.close()
        stop_process(second)
        admin.dispose()
    assert [m.step for m in history] == list(range(6)), "every value once"
    assert stored.status.value == "FINISHED"


def test_a_batch_sent_again_later_reuses_its_key(live_server: Any, tmp_path: Path) -> None:
    """The client gave up on a batch the server had stored: the buffer's next flush sends it
    again under the same key, and the server answers from its record instead of storing it."""
    import httpx

    from shipway.errors import StoreUnavailable
    from tests.client.test_remote import LosesResponses

    client = httpx.Client(base_url=live_server.url + "/api/v1", transport=LosesResponses())
    transport = Transport(live_server.url, client=client, retries=0)
    tracking = RemoteTracking(client_settings(tmp_path, live_server.url), transport)
    run = live_server.app.state.tracking.create_run("resend", capture_environment=False)
    for step in range(6):
        tracking.log_metric(run.run_id, "loss", float(step), step=step)
    with pytest.raises(StoreUnavailable):
        tracking.flush()  # stored by the server, answer lost, no retries left
    tracking.flush()
    assert [
        m.step for m in live_server.stores.tracking.get_metric_history(run.run_id, "loss")
    ] == list(range(6))
    tracking.close()
