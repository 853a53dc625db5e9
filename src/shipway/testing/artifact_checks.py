"""Checks for artifact backends."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipway.errors import IntegrityError, InvalidArgument, NotFound
from shipway.store import Stores
from shipway.store.artifacts import digest_bytes


def check_round_trip(stores: Stores) -> None:
    store = stores.artifacts
    data = bytes(range(256)) * 5000
    info = store.put_bytes(data, "a/b/blob.bin")
    assert info.size == len(data) and info.digest == digest_bytes(data)
    assert store.read_bytes("a/b/blob.bin", digest=info.digest) == data
    assert store.exists("a/b/blob.bin") and not store.exists("a/b/none.bin")
    with tempfile.TemporaryDirectory() as tmp:
        out = store.get_file("a/b/blob.bin", Path(tmp) / "x.bin", digest=info.digest)
        assert out.read_bytes() == data


def check_listing(stores: Stores) -> None:
    store = stores.artifacts
    for key in ("run/m/MODEL.json", "run/m/model.pkl", "run/other.txt"):
        store.put_bytes(key.encode(), key)
    assert store.list("run/m") == ["run/m/MODEL.json", "run/m/model.pkl"]
    assert store.list("run") == ["run/m/MODEL.json", "run/m/model.pkl", "run/other.txt"]
    assert store.list("missing") == []


def check_tamper_detected(stores: Stores) -> None:
    store = stores.artifacts
    info = store.put_bytes(b"original", "t/file")
    store.put_bytes(b"0riginal", "t/file")  # altered behind the metadata's back
    try:
        store.read_bytes("t/file", digest=info.digest)
    except IntegrityError:
        pass
    else:
        raise AssertionError("altered bytes must be refused")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            store.get_file("t/file", Path(tmp) / "f", digest=info.digest)
        except IntegrityError:
            assert not (Path(tmp) / "f").exists(), "a refused download leaves no file"
        else:
            raise AssertionError("altered bytes must be refused")


def check_paths_confined(stores: Stores) -> None:
    for bad in ("../escape", "/abs/path", "a/../../b", "s3://other/bucket"):
        try:
            stores.artifacts.put_bytes(b"x", bad)
        except InvalidArgument:
            continue
        raise AssertionError(f"{bad!r} must be refused")


def check_failed_upload_leaves_nothing(stores: Stores) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise OSError("connection reset")
            return b"x" * 1024

    with contextlib.suppress(OSError):
        stores.artifacts.put_stream(Broken(), "partial/file")  # type: ignore[arg-type]
    assert not stores.artifacts.exists("partial/file")
    assert stores.artifacts.list("partial") == []


def check_missing(stores: Stores) -> None:
    try:
        stores.artifacts.read_bytes("no/such/file")
    except NotFound:
        return
    raise AssertionError("a missing artifact is NotFound")


ARTIFACT_CHECKS: list[Callable[[Any], None]] = [
    check_round_trip,
    check_listing,
    check_tamper_detected,
    check_paths_confined,
    check_failed_upload_leaves_nothing,
    check_missing,
]
