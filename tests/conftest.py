"""Fixtures: fresh stores on every backend the machine offers.

SQLite and a local folder always; PostgreSQL when SHIPWAY_TEST_POSTGRES_URL is set; an S3
endpoint (moto's server, started here on loopback) when SHIPWAY_TEST_S3 is set.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shipway.config import Settings

POSTGRES_URL = os.environ.get("SHIPWAY_TEST_POSTGRES_URL")
WANT_S3 = bool(os.environ.get("SHIPWAY_TEST_S3"))

METADATA_BACKENDS = ["sqlite"] + (["postgres"] if POSTGRES_URL else [])
ARTIFACT_BACKENDS = ["local"] + (["s3"] if WANT_S3 else [])


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback for the whole session."""
    if not WANT_S3:
        pytest.skip("set SHIPWAY_TEST_S3=1 to run S3 tests")
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def stop_process(process: Any, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
    """Stop a process a test started (``sig``, then wait) and close its pipes."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    finally:
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def s3_bucket(endpoint: str) -> str:
    import boto3

    name = f"shipway-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("set SHIPWAY_TEST_POSTGRES_URL to run PostgreSQL tests")
    import sqlalchemy as sa

    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


def make_settings(tmp_path: Path, metadata: str, artifacts: str, request: Any) -> Settings:
    overrides: dict[str, Any] = {"home": tmp_path / "home", "user": "tester"}
    if metadata == "postgres":
        overrides["tracking_uri"] = request.getfixturevalue("postgres_url")
    if artifacts == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        overrides["artifact_uri"] = f"s3://{s3_bucket(endpoint)}/artifacts"
        overrides["s3_endpoint_url"] = endpoint
    return Settings.resolve(overrides, environ={}, cwd=tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded defaults in a temporary folder; the environment is ignored."""
    return Settings.resolve({"home": tmp_path / "home", "user": "tester"}, environ={}, cwd=tmp_path)


@pytest.fixture
def stores(settings: Settings) -> Iterator[Any]:
    from shipway.store import open_stores

    opened = open_stores(settings)
    yield opened
    opened.close()


@pytest.fixture
def sw(settings: Settings) -> Iterator[Any]:
    """The fluent API pointed at fresh embedded stores."""
    import shipway
    from shipway import session as context

    context._current = context.Session(settings)
    yield shipway
    if context._current is not None:  # the cli fixture may have replaced it
        context._current.close()
    context._current = None
