"""Property-based fuzz of the REST API from its own OpenAPI document: no 5xx, no response
that contradicts the document, whatever the input.

Examples are derandomized so CI is repeatable; raise max_examples locally to search harder.
One check is left out: "a schema-valid request is accepted". The document describes shapes
(a version is an integer), the stores then apply rules (versions start at 1, keys have a
character set) and answer 400 with a reason, which is the behaviour we want.
"""

from __future__ import annotations

import tempfile
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from shipway.config import Settings
from shipway.server.app import API, create_app
from tests.conftest import POSTGRES_URL

schemathesis = pytest.importorskip("schemathesis")


def _app(tracking_uri: str | None = None) -> Any:
    overrides = {"home": tempfile.mkdtemp(prefix="shipway-fuzz-"), "user": "fuzz"}
    if tracking_uri:
        overrides["tracking_uri"] = tracking_uri
    return create_app(Settings.resolve(overrides, environ={}))


def _postgres_schema() -> str | None:
    """A fresh PostgreSQL schema for the fuzzed server's tables (dropped at exit)."""
    if not POSTGRES_URL:
        return None
    import atexit

    import sqlalchemy as sa

    base = POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    name = f"fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {name}")

    def drop() -> None:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()

    atexit.register(drop)
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{name}"


schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", _app())
_PG_URL = _postgres_schema()
pg_schema = schemathesis.openapi.from_asgi(
    f"{API}/openapi.json", _app(_PG_URL) if _PG_URL else _app()
)
FUZZ = settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@schema.parametrize()
@FUZZ
def test_api_never_fails_or_breaks_its_contract(case: Any) -> None:
    _check(case)


@pytest.mark.postgres
@pytest.mark.skipif(not _PG_URL, reason="set SHIPWAY_TEST_POSTGRES_URL to run PostgreSQL tests")
@pg_schema.parametrize()
@FUZZ
def test_api_on_postgresql_never_fails_or_breaks_its_contract(case: Any) -> None:
    _check(case)


def _check(case: Any) -> None:
    from schemathesis.specs.openapi.checks import (
        negative_data_rejection,
        positive_data_acceptance,
    )

    excluded = [positive_data_acceptance]
    if _query_array(case):  # "?names=false" is a list of one name, whatever it was meant as
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)


def _query_array(case: Any) -> bool:
    """Whether the case sends a query parameter the document types as an array: in a query
    string every value is text, and one value is a list of one, so no value violates it."""
    arrays = {
        p.name for p in case.operation.query if "array" in str(p.definition.get("schema", {}))
    }
    return bool(arrays & set(case.query or {}))
