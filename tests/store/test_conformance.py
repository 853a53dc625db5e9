"""The conformance kit, on every backend this machine offers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipway.store import open_stores
from shipway.testing import ARTIFACT_CHECKS, METADATA_CHECKS
from tests.conftest import ARTIFACT_BACKENDS, METADATA_BACKENDS, make_settings


@pytest.mark.parametrize("backend", METADATA_BACKENDS)
@pytest.mark.parametrize("check", METADATA_CHECKS, ids=lambda c: c.__name__)
def test_metadata_backend(
    check: Any, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stores = open_stores(make_settings(tmp_path, backend, "local", request))
    try:
        check(stores)
    finally:
        stores.close()


@pytest.mark.parametrize("backend", ARTIFACT_BACKENDS)
@pytest.mark.parametrize("check", ARTIFACT_CHECKS, ids=lambda c: c.__name__)
def test_artifact_backend(
    check: Any, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    stores = open_stores(make_settings(tmp_path, "sqlite", backend, request))
    try:
        check(stores)
    finally:
        stores.close()
