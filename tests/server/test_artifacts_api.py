"""Artifact upload and download through the server: streamed, hashed, atomic, confined."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from shipway.config import Settings
from shipway.errors import InvalidArgument
from shipway.server.app import API, create_app
from shipway.store.artifacts import digest_bytes


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_upload_and_download_round_trip(api: TestClient) -> None:
    run_id = api.post(f"{API}/runs", json={"experiment": "a"}).json()["run_id"]
    data = os.urandom(5 * 2**20 + 123)  # over the 32 MB JSON limit's chunking, under memory worries
    stored = api.put(f"{API}/runs/{run_id}/artifacts/model/weights.bin", content=data)
    assert stored.status_code == 201 and stored.json() == {
        "path": "model/weights.bin",
        "size": len(data),
        "digest": digest_bytes(data),
    }
    back = api.get(f"{API}/runs/{run_id}/artifacts/model/weights.bin")
    assert back.content == data and back.headers["x-shipway-digest"] == digest_bytes(data)
    listed = api.get(f"{API}/runs/{run_id}/artifacts").json()
    assert [a["path"] for a in listed] == ["model/weights.bin"]


def test_uploads_larger_than_the_json_limit_are_accepted(api: TestClient) -> None:
    run_id = api.post(f"{API}/runs", json={"experiment": "a"}).json()["run_id"]
    data = b"z" * (33 * 2**20)
    assert api.put(f"{API}/runs/{run_id}/artifacts/big.bin", content=data).json()["size"] == len(
        data
    )


def test_cut_short_upload_stores_nothing(api: TestClient) -> None:
    run_id = api.post(f"{API}/runs", json={"experiment": "a"}).json()["run_id"]

    def body() -> Iterator[bytes]:
        yield b"x" * 1000

    response = api.put(
        f"{API}/runs/{run_id}/artifacts/partial.bin",
        content=body(),
        headers={"content-length": "5000"},
    )
    assert response.status_code == 400 and "cut short" in response.json()["error"]["message"]
    assert api.get(f"{API}/runs/{run_id}/artifacts").json() == []
    assert api.get(f"{API}/runs/{run_id}/artifacts/partial.bin").status_code == 404


def test_paths_cannot_escape_the_run(api: TestClient) -> None:
    run_id = api.post(f"{API}/runs", json={"experiment": "a"}).json()["run_id"]
    for bad in ("..%2F..%2Fescape.txt", "a/..%2F..%2F..%2Fx"):
        response = api.put(f"{API}/runs/{run_id}/artifacts/{bad}", content=b"x")
        assert response.status_code in (400, 404), bad
    assert api.get(f"{API}/runs/{run_id}/artifacts").json() == []
    assert api.put(f"{API}/runs/{'0' * 32}/artifacts/x.bin", content=b"x").status_code == 404


def test_symlinks_cannot_lead_out_of_the_store(stores: object, tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    root = Path(stores.artifacts.root)  # type: ignore[attr-defined]
    (root / "run").mkdir(parents=True)
    (root / "run" / "link").symlink_to(outside)
    with pytest.raises(InvalidArgument, match="outside the artifact store"):
        stores.artifacts.read_bytes("run/link")  # type: ignore[attr-defined]
