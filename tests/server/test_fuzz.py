"""Property-based fuzz of the REST API from its own OpenAPI document: no 5xx, no response
that contradicts the document, whatever the input.

Examples are derandomized so CI is repeatable; raise max_examples locally to search harder.
One check is left out: "a schema-valid request is accepted". The document describes shapes
(a version is an integer), the stores then apply rules (versions start at 1, keys have a
character set) and answer 400 with a reason, which is the behaviour we want.
"""

from __future__ import annotations

import tempfile
from typing import Any

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
def test_api_never_fails_or_breaks_its_contract(case: Any) -> None:
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
