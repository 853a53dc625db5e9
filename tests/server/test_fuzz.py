"""Property-based fuzz of the REST API from its own OpenAPI document: no 5xx, no response
that contradicts the document, whatever the input.

Examples are derandomized so CI is repeatable; raise max_examples locally to search harder.
One check is left out: "a schema-valid request is accepted". The document describes shapes
(a version is an integer), the stores then apply rules (versions start at 1, keys have a
character set) and answer 400 with a reason, which is the behaviour we want.
"""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import HealthCheck, settings

from shipway.config import Settings
from shipway.server.app import API, create_app

schemathesis = pytest.importorskip("schemathesis")

app = create_app(
    Settings.resolve({"home": tempfile.mkdtemp(prefix="shipway-fuzz-"), "user": "fuzz"}, environ={})
)
schema = schemathesis.openapi.from_asgi(f"{API}/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_fails_or_breaks_its_contract(case: object) -> None:
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    case.call_and_validate(excluded_checks=[positive_data_acceptance])  # type: ignore[attr-defined]
