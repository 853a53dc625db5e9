"""Dataset versions: content-addressed, deduplicated, linked not copied, byte-identical back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipway.data.versions import LocalDatasets, parse_dataset_ref
from shipway.errors import IntegrityError, InvalidArgument, NotFound
from tests.conftest import ARTIFACT_BACKENDS, METADATA_BACKENDS, make_settings


@pytest.fixture
def registry(sw: Any) -> LocalDatasets:
    return sw.session.current().datasets


def test_frames_are_versioned_by_content(sw: Any, registry: LocalDatasets) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, None], "city": ["a", "b", "a"]})
    v1, new = registry.add("customers", df)
    assert new and v1.version == 1 and v1.rows == 3 and v1.kind == "frame"
    same, new = registry.add("customers", df.copy())
    assert not new and same.version == 1
    v2, _ = registry.add("customers", df.assign(x=[1.0, 2.0, 3.0]))
    assert v2.version == 2 and v2.digest != v1.digest
    assert v1.profile["columns"]["x"]["missing"] == 1 and v1.profile["columns"]["city"][
        "categories"
    ] == {"a": 2, "b": 1}
    pd.testing.assert_frame_equal(registry.load("customers@1"), df)
    pd.testing.assert_frame_equal(
        sw.load_dataset("datasets:/customers/2"), df.assign(x=[1.0, 2.0, 3.0])
    )
    assert sw.get_dataset("customers").version == 2


def test_files_are_stored_once_and_come_back_identical(
    registry: LocalDatasets, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3_000_000))
    v1, _ = registry.add("blob", source)
    registry.add("other-name", source)  # another dataset, same bytes: one object
    objects = [p for p in Path(registry.artifacts.root, "objects").rglob("*") if p.is_file()]
    assert len(objects) == 1
    original = source.read_bytes()
    source.write_bytes(b"edited in place")  # the stored version must not change with it
    out = registry.checkout(v1, tmp_path / "back.bin")
    assert out.read_bytes() == original


def test_hardlink_mode_links_and_protects(sw: Any, tmp_path: Path) -> None:
    session = sw.session.current()
    registry = LocalDatasets(session.stores, link="hardlink")
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(100_000))
    version, _ = registry.add("blob", source)
    stored = Path(registry.artifacts.uri(version.object_key))
    assert stored.stat().st_ino == source.stat().st_ino and stored.stat().st_mode & 0o777 == 0o444


def test_unchanged_files_are_not_hashed_again(
    registry: LocalDatasets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "data.csv"
    pd.DataFrame({"a": range(100)}).to_csv(source, index=False)
    first = registry.hash_file(source)
    import shipway.data.versions as versions

    def fail(_: Any) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(versions, "digest_file", fail)
    assert registry.hash_file(source) == first
    source.write_text("a\n1\n")
    monkeypatch.undo()
    assert registry.hash_file(source) != first


def test_directories_round_trip_with_a_manifest(registry: LocalDatasets, tmp_path: Path) -> None:
    root = tmp_path / "images"
    for i in range(50):
        (root / f"class{i % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"class{i % 3}" / f"{i}.txt").write_text(f"image {i}")
    v1, _ = registry.add("images", root)
    assert (v1.kind, v1.files) == ("directory", 50)
    (root / "class0" / "0.txt").write_text("changed")
    v2, _ = registry.add("images", root)
    assert v2.version == 2
    out = registry.checkout(v1, tmp_path / "restored")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
    )
    assert (out / "class0" / "0.txt").read_text() == "image 0"
    changed = {
        k
        for k, e in registry.manifest(v2).items()
        if registry.manifest(v1)[k]["digest"] != e["digest"]
    }
    assert changed == {"class0/0.txt"}


def test_runs_that_used_a_version_are_found(sw: Any, registry: LocalDatasets) -> None:
    df = pd.DataFrame({"a": [1, 2]})
    with sw.start_run() as run:
        version = sw.log_dataset("train", df)
    assert registry.runs_using(version) == [(run.run_id, "train")]


def test_tampered_object_is_refused(registry: LocalDatasets, tmp_path: Path) -> None:
    source = tmp_path / "f.bin"
    source.write_bytes(b"abc" * 1000)
    version, _ = registry.add("f", source, description="d")
    stored = Path(registry.artifacts.uri(version.object_key))
    os.chmod(stored, 0o644)
    stored.write_bytes(b"xyz" * 1000)
    with pytest.raises(IntegrityError):
        registry.checkout(version, tmp_path / "out.bin")


def test_bad_references_and_inputs(registry: LocalDatasets, tmp_path: Path) -> None:
    assert (
        parse_dataset_ref("datasets:/a/3") == ("a", 3)
        and parse_dataset_ref("a@2") == ("a", 2)
        and parse_dataset_ref("a") == ("a", None)
    )
    with pytest.raises(InvalidArgument, match="NAME@VERSION"):
        parse_dataset_ref("a@latest")
    with pytest.raises(NotFound, match="no dataset named 'ghost'"):
        registry.get("ghost")
    with pytest.raises(NotFound, match="no file or folder"):
        registry.add("x", tmp_path / "missing.csv")
    with pytest.raises(InvalidArgument, match="cannot version a int"):
        registry.add("x", 42)


@pytest.mark.parametrize(
    ("metadata", "artifacts"),
    [(m, a) for m in METADATA_BACKENDS for a in ARTIFACT_BACKENDS if (m, a) != ("sqlite", "local")],
)
def test_versions_on_team_backends(
    metadata: str, artifacts: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from shipway.store import open_stores

    stores = open_stores(make_settings(tmp_path, metadata, artifacts, request))
    registry = LocalDatasets(stores)
    df = pd.DataFrame({"x": [1.5, 2.5], "c": ["a", "b"]})
    frame_version, _ = registry.add("frame", df)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.bin").write_bytes(os.urandom(1000))
    folder_version, _ = registry.add("folder", folder)
    assert registry.add("folder", folder)[0].version == 1
    pd.testing.assert_frame_equal(registry.load("frame@1"), df)
    out = registry.checkout(folder_version, tmp_path / "out")
    assert (out / "b.bin").read_bytes() == (folder / "b.bin").read_bytes()
    assert frame_version.rows == 2
    stores.close()


def test_a_name_no_verb_could_take_back_is_refused_at_add(sw: Any) -> None:
    """Issue 23, item 12: "a/b" was added, then no NAME@VERSION could name it."""
    frame = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(InvalidArgument, match="which name a version"):
        sw.log_dataset("bad name/with slash", frame)
    with pytest.raises(InvalidArgument, match="not allowed"):
        sw.log_dataset("x@y", frame)
    assert sw.get_dataset(sw.log_dataset("good name", frame).name).version == 1
