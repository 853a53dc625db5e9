"""Versioned datasets: snapshots of DataFrames, files and folders, content-addressed (BLAKE3).

The same bytes are stored once (objects/<hash>), each version records its hash, size, rows,
schema and profile, and the runs that used it are found through their recorded inputs.
Hashing runs at disk speed (BLAKE3 on every core for large files) with a stat cache, so an
unchanged file is never hashed twice;
in a local store files are reflinked or hard-linked rather than copied.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.data.backend import DatasetBackend, Progress
from shipway.data.digests import frame_digest
from shipway.data.schema import infer_schema
from shipway.errors import IntegrityError, InvalidArgument, NotFound
from shipway.store import Stores
from shipway.store.artifacts import digest_bytes, digest_file
from shipway.store.dataset_store import DatasetStore
from shipway.store.hash_cache import HashCache
from shipway.store.linking import place
from shipway.store.validation import check_key
from shipway.types import DatasetVersion

if TYPE_CHECKING:
    import pandas as pd

PROFILE_LIMIT = 256 * 2**20  # files larger than this are versioned without schema and profile


def object_key(digest: str) -> str:
    """Where the object of ``digest`` (``blake3:<64 hex digits>``) is kept."""
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "blake3" or len(hexdigest) != 64 or not all(c in _HEX for c in hexdigest):
        raise InvalidArgument(f"{digest!r} is not an object digest (blake3:<64 hex digits>)")
    return f"objects/{hexdigest[:2]}/{hexdigest[2:]}"


_HEX = frozenset("0123456789abcdef")


def object_digest(key: str) -> str:
    """The hash an object key was made from (the inverse of :func:`object_key`)."""
    return "blake3:" + key.removeprefix("objects/").replace("/", "")


def check_dataset_name(name: Any) -> str:
    """A name every verb can take back: ``NAME@V`` and ``datasets:/NAME/V`` read the part
    after the last ``@`` or ``/`` as the version, so a name holds neither."""
    checked = check_key(name, "dataset")
    if "/" in checked or "@" in checked:
        raise InvalidArgument(
            f"dataset name {checked!r} holds '/' or '@', which name a version in NAME@VERSION",
            hint="use letters, digits, spaces and _ - . :",
        )
    return checked


def parse_dataset_ref(ref: str) -> tuple[str, int | None]:
    """``NAME``, ``NAME@V``, ``NAME/V`` or ``datasets:/NAME/V``."""
    body = ref.removeprefix("datasets:/").strip("/")
    for sep in ("@", "/"):
        if sep in body:
            name, version = body.rsplit(sep, 1)
            if not version.isdigit():
                raise InvalidArgument(
                    f"cannot read the dataset reference {ref!r}",
                    hint="use NAME@VERSION, e.g. flights@3",
                )
            return name, int(version)
    return body, None


class LocalDatasets(DatasetBackend):
    """Dataset versions in the local stores."""

    def __init__(
        self, stores: Stores, *, actor: str | None = None, link: str | None = None
    ) -> None:
        self.stores = stores
        self.actor = actor or stores.settings.user
        self.artifacts = stores.artifacts
        self.store = DatasetStore(stores.db)
        self.link = link or stores.settings.data.link
        self._cache: HashCache | None = None

    @property
    def cache(self) -> HashCache:
        if self._cache is None:
            self._cache = HashCache(Path(self.stores.settings.home) / "hash-cache.db")
        return self._cache

    # -- adding ------------------------------------------------------------------------
    def add(
        self, name: str, data: Any, *, description: str = "", progress: Progress | None = None
    ) -> tuple[DatasetVersion, bool]:
        """Snapshot a DataFrame, a file or a folder as the next version of ``name``."""
        check_dataset_name(name)
        if hasattr(data, "columns") and hasattr(data, "dtypes"):
            return self._add_frame(name, data, description)
        if isinstance(data, str | Path):
            path = Path(data)
            if path.is_file():
                return self._add_file(name, path, description, progress)
            if path.is_dir():
                return self._add_directory(name, path, description, progress)
            raise NotFound(f"no file or folder at {path}")
        raise InvalidArgument(
            f"cannot version a {type(data).__name__}",
            hint="pass a pandas DataFrame, a file or a folder",
        )

    def _add_frame(self, name: str, df: Any, description: str) -> tuple[DatasetVersion, bool]:
        digest = frame_digest(df)
        existing = self._find(name, digest)
        if existing is not None:
            return existing, False
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False, compression="zstd")
        data = buffer.getvalue()
        key = object_key(digest_bytes(data))
        if not self.artifacts.exists(key):
            self.artifacts.put_bytes(data, key)
        return self.store.add_version(
            name,
            actor=self.actor,
            description=description,
            digest=digest,
            kind="frame",
            format="parquet",
            size=len(data),
            files=1,
            rows=len(df),
            object_key=key,
            source=None,
            **_describe(df),
        )

    def hash_file(self, path: Path) -> str:
        cached = self.cache.get(path)
        if cached is None:
            cached = digest_file(path)
            self.cache.put(path, cached)
        return cached

    def _store_object(self, path: Path, digest: str) -> str:
        key = object_key(digest)
        if not self.artifacts.exists(key):
            if self.artifacts.is_local:
                target = Path(self.artifacts.uri(key))
                tmp = target.with_name(f".{target.name}.tmp")
                tmp.unlink(missing_ok=True)
                place(path, tmp, self.link)
                os.replace(tmp, target)
            else:
                self.artifacts.put_file(path, key)
        return key

    def _add_file(
        self, name: str, path: Path, description: str, progress: Progress | None
    ) -> tuple[DatasetVersion, bool]:
        digest = self.hash_file(path)
        if progress:
            progress(path.stat().st_size)
        existing = self._find(name, digest)
        if existing is not None:
            return existing, False
        key = self._store_object(path, digest)
        fmt = path.suffix.lstrip(".").lower() or "binary"
        frame = _read_small(path, fmt)
        rows = len(frame) if frame is not None else _parquet_rows(path, fmt)
        return self.store.add_version(
            name,
            actor=self.actor,
            description=description,
            digest=digest,
            kind="file",
            format=fmt,
            size=path.stat().st_size,
            files=1,
            rows=rows,
            object_key=key,
            source=str(path.resolve()),
            **(_describe(frame) if frame is not None else {}),
        )

    def _add_directory(
        self, name: str, root: Path, description: str, progress: Progress | None
    ) -> tuple[DatasetVersion, bool]:
        entries = hash_tree(root, self.cache, progress)
        manifest = manifest_bytes(entries)
        digest = digest_bytes(manifest)
        existing = self._find(name, digest)
        if existing is not None:
            return existing, False
        for relative, file_digest, _ in entries:
            self._store_object(root / relative, file_digest)
        key = object_key(digest)
        if not self.artifacts.exists(key):
            self.artifacts.put_bytes(manifest, key)
        return self.store.add_version(
            name,
            actor=self.actor,
            description=description,
            digest=digest,
            kind="directory",
            format="directory",
            size=sum(s for _, _, s in entries),
            files=len(entries),
            rows=None,
            object_key=key,
            source=str(root.resolve()),
        )

    def add_stored(
        self,
        name: str,
        *,
        kind: str,
        format: str,  # noqa: A002 - the field's name
        object_digest: str,
        digest: str,
        source: str | None = None,
        description: str = "",
    ) -> tuple[DatasetVersion, bool]:
        """A version made of objects already in the store (uploaded through the server),
        checked against their hashes; its rows, schema and profile are worked out here."""
        key = object_key(object_digest)
        if not self.artifacts.exists(key):
            raise NotFound(f"no stored object {object_digest}", hint="upload it first")
        existing = self._find(name, digest)
        if existing is not None:
            return existing, False
        if kind == "directory":
            fields = self._stored_directory(key, object_digest, digest)
        else:
            fields = self._stored_table(kind, format, key, object_digest, digest)
        return self.store.add_version(
            name,
            actor=self.actor,
            description=description,
            digest=digest,
            kind=kind,
            format=format,
            object_key=key,
            source=source,
            **fields,
        )

    def _stored_table(
        self, kind: str, fmt: str, key: str, object_digest: str, digest: str
    ) -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            path = self.artifacts.get_file(key, Path(tmp) / f"object.{fmt}", digest=object_digest)
            size = path.stat().st_size
            frame = _read_small(path, "parquet" if kind == "frame" else fmt)
            if kind == "frame":
                if frame is None or frame_digest(frame) != digest:
                    raise InvalidArgument(
                        "the uploaded frame does not have the digest it was sent with"
                    )
            elif digest != object_digest:
                raise InvalidArgument("a file version's digest is the hash of its bytes")
            rows = len(frame) if frame is not None else _parquet_rows(path, fmt)
            described = _describe(frame) if frame is not None else {}
        return {"size": size, "files": 1, "rows": rows, **described}

    def _stored_directory(self, key: str, object_digest: str, digest: str) -> dict[str, Any]:
        if digest != object_digest:
            raise InvalidArgument("a folder version's digest is the hash of its manifest")
        files = json.loads(self.artifacts.read_bytes(key, digest=object_digest))["files"]
        missing = [
            rel for rel, e in files.items() if not self.artifacts.exists(object_key(e["digest"]))
        ]
        if missing:
            raise NotFound(f"{len(missing)} file(s) of the folder were not uploaded: {missing[0]}")
        return {"size": sum(e["size"] for e in files.values()), "files": len(files), "rows": None}

    def _find(self, name: str, digest: str) -> DatasetVersion | None:
        return self.store.find(name, digest)

    # -- reading -----------------------------------------------------------------------
    def get(self, ref: str, version: int | None = None) -> DatasetVersion:
        name, parsed = parse_dataset_ref(ref)
        return self.store.get_version(name, version if version is not None else parsed)

    def list(self) -> list[tuple[str, int, float]]:
        return self.store.list_datasets()

    def versions(self, name: str) -> builtins.list[DatasetVersion]:
        return self.store.list_versions(name)

    def runs_using(self, version: DatasetVersion) -> builtins.list[tuple[str, str]]:
        return self.store.runs_using(version.name, version.digest)

    def manifest(self, version: DatasetVersion) -> dict[str, dict[str, Any]]:
        if version.kind != "directory":
            return {}
        manifest = json.loads(self.artifacts.read_bytes(version.object_key, digest=version.digest))
        files: dict[str, dict[str, Any]] = manifest["files"]
        return files

    def checkout(self, version: DatasetVersion, out: Path) -> Path:
        """Write the version to ``out``, byte-identical, each file's hash verified."""
        if version.kind == "directory":
            for rel, entry in self.manifest(version).items():
                self._materialize(object_key(entry["digest"]), entry["digest"], out / rel)
            return out
        target = out / f"{version.name}.{version.format}" if out.is_dir() else out
        object_digest = version.digest if version.kind == "file" else None
        self._materialize(version.object_key, object_digest, target)
        return target

    def _materialize(self, key: str, digest: str | None, target: Path) -> None:
        if self.artifacts.is_local and digest is not None:
            stored = Path(self.artifacts.uri(key))
            if not stored.exists():
                raise NotFound(f"the stored object {key} is missing")
            if digest_file(stored) != digest:
                raise IntegrityError(
                    f"the stored copy of {target.name} was altered after it was added"
                )
            target.unlink(missing_ok=True)
            place(stored, target, self.link)
        else:
            self.artifacts.get_file(key, target, digest=digest)

    def load(self, ref: str, version: int | None = None) -> pd.DataFrame:
        """The version as a DataFrame (DataFrames, Parquet and CSV files)."""
        import pandas as pd

        found = self.get(ref, version)
        if found.kind == "directory" or found.format not in ("parquet", "csv"):
            raise InvalidArgument(
                f"{found.uri} is a {found.kind} of format {found.format}",
                hint="use checkout to get its files",
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = self.checkout(found, Path(tmp) / f"data.{found.format}")
            return pd.read_parquet(path) if found.format == "parquet" else pd.read_csv(path)


def hash_tree(
    root: Path, cache: HashCache, progress: Progress | None = None
) -> list[tuple[str, str, int]]:
    """Every file under ``root``: its relative path, hash and size (the stat cache skips
    files hashed before)."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    cached = cache.get_many(files)
    fresh: list[tuple[Path, str]] = []

    def hashed(path: Path) -> tuple[str, str, int]:
        digest = cached.get(path)
        if digest is None:
            digest = digest_file(path)
            fresh.append((path, digest))
        size = path.stat().st_size
        if progress:
            progress(size)
        return path.relative_to(root).as_posix(), digest, size

    # One file at a time: large files are hashed on every core by BLAKE3 itself, and for
    # small ones a thread pool spent more in lock hand-offs than in hashing (measured: 4×).
    entries = [hashed(path) for path in files]
    if fresh:
        cache.put_many(fresh)
    return entries


def manifest_bytes(entries: list[tuple[str, str, int]]) -> bytes:
    """A folder version's manifest; its hash is the version's digest."""
    files = {rel: {"digest": d, "size": size} for rel, d, size in entries}
    return json.dumps({"files": files}, sort_keys=True).encode()


def _read_small(path: Path, fmt: str) -> Any:
    if fmt not in ("parquet", "csv") or path.stat().st_size > PROFILE_LIMIT:
        return None
    import pandas as pd

    try:
        return pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path)
    except Exception:  # a file that does not parse is still versioned, just not profiled
        return None


def _parquet_rows(path: Path, fmt: str) -> int | None:
    if fmt != "parquet":
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:
        return None


def _describe(df: Any) -> dict[str, Any]:
    """Schema and profile of a frame, as stored with its version."""
    from shipway.stats.profile import build_profile

    return {"profile": build_profile(df).to_dict(), "schema": infer_schema(df).to_dict()}
