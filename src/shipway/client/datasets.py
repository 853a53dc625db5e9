"""Dataset versions through ``shipway server``.

Adding a version hashes the data here, uploads only the objects the server lacks (each is
checked against its hash on arrival) and asks the server for the version, which checks the
objects and profiles the data itself. Checking out downloads the objects, each hash verified
before it gets its name, so a version lands byte-identical or not at all."""

from __future__ import annotations

import builtins
import io
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipway.client.deployments import seg, transport_of
from shipway.data.backend import DatasetBackend, Progress
from shipway.data.digests import frame_digest
from shipway.data.versions import hash_tree, manifest_bytes, object_digest, parse_dataset_ref
from shipway.errors import IntegrityError, InvalidArgument, NotFound
from shipway.session import Session
from shipway.store.artifacts import digest_bytes, digest_file, save_checked
from shipway.store.hash_cache import HashCache
from shipway.types import DatasetVersion, from_plain

if TYPE_CHECKING:
    import pandas as pd

_CHUNK = 1 << 20


class RemoteDatasets(DatasetBackend):
    def __init__(self, session: Session) -> None:
        self.session = session
        self.transport = transport_of(session)
        self._cache: Any = None

    @property
    def cache(self) -> Any:
        """This machine's stat cache of file hashes, as the local store uses."""
        if self._cache is None:
            home = Path(self.session.settings.home)
            home.mkdir(parents=True, exist_ok=True)
            self._cache = HashCache(home / "hash-cache.db")
        return self._cache

    # -- adding ------------------------------------------------------------------------
    def add(
        self, name: str, data: Any, *, description: str = "", progress: Progress | None = None
    ) -> tuple[DatasetVersion, bool]:
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
        found = self._find(name, digest)
        if found is not None:
            return found, False
        buffer = io.BytesIO()
        df.to_parquet(buffer, index=False, compression="zstd")
        data = buffer.getvalue()
        object_digest = digest_bytes(data)
        self._upload(object_digest, lambda: data)
        return self._create(name, "frame", "parquet", object_digest, digest, None, description)

    def _add_file(
        self, name: str, path: Path, description: str, progress: Progress | None
    ) -> tuple[DatasetVersion, bool]:
        digest = self.cache.get(path)
        if digest is None:
            digest = digest_file(path)
            self.cache.put(path, digest)
        if progress:
            progress(path.stat().st_size)
        found = self._find(name, digest)
        if found is not None:
            return found, False
        self._upload(digest, lambda: _file_chunks(path))
        fmt = path.suffix.lstrip(".").lower() or "binary"
        return self._create(name, "file", fmt, digest, digest, str(path.resolve()), description)

    def _add_directory(
        self, name: str, root: Path, description: str, progress: Progress | None
    ) -> tuple[DatasetVersion, bool]:
        entries = hash_tree(root, self.cache, progress)
        manifest = manifest_bytes(entries)
        digest = digest_bytes(manifest)
        found = self._find(name, digest)
        if found is not None:
            return found, False
        for relative, file_digest, _ in entries:
            if not self._has(file_digest):
                self._upload(file_digest, lambda p=root / relative: _file_chunks(p))
        self._upload(digest, lambda: manifest)
        return self._create(
            name, "directory", "directory", digest, digest, str(root.resolve()), description
        )

    def _has(self, digest: str) -> bool:
        try:
            self.transport.request("HEAD", f"/datasets/objects/{digest}")
        except NotFound:
            return False
        return True

    def _upload(self, digest: str, content: Any) -> None:
        headers = {"content-type": "application/octet-stream"}
        self.transport.request(
            "PUT", f"/datasets/objects/{digest}", content=content, headers=headers
        )

    def _create(
        self,
        name: str,
        kind: str,
        fmt: str,
        object_digest: str,
        digest: str,
        source: str | None,
        description: str,
    ) -> tuple[DatasetVersion, bool]:
        body = {
            "kind": kind,
            "format": fmt,
            "object_digest": object_digest,
            "digest": digest,
            "source": source,
            "description": description,
        }
        found = self.transport.json("POST", f"/datasets/{seg(name)}/versions", json=body)
        return from_plain(DatasetVersion, found["version"]), bool(found["created"])

    def _find(self, name: str, digest: str) -> DatasetVersion | None:
        try:
            found = self.transport.json(
                "GET", f"/datasets/{seg(name)}/versions", params={"digest": digest}
            )
        except NotFound:
            return None
        return from_plain(DatasetVersion, found[0]) if found else None

    # -- reading -----------------------------------------------------------------------
    def get(self, ref: str, version: int | None = None) -> DatasetVersion:
        name, parsed = parse_dataset_ref(ref)
        chosen = version if version is not None else parsed
        path = f"/datasets/{seg(name)}/" + (f"versions/{chosen}" if chosen else "newest")
        return from_plain(DatasetVersion, self.transport.json("GET", path))

    def list(self) -> list[tuple[str, int, float]]:
        found = self.transport.json("GET", "/datasets")
        return [(d["name"], int(d["versions"]), float(d["updated_at"])) for d in found]

    def versions(self, name: str) -> builtins.list[DatasetVersion]:
        found = self.transport.json("GET", f"/datasets/{seg(name)}/versions")
        return [from_plain(DatasetVersion, v) for v in found]

    def runs_using(self, version: DatasetVersion) -> builtins.list[tuple[str, str]]:
        path = f"/datasets/{seg(version.name)}/versions/{version.version}/runs"
        return [(r["run_id"], r["role"]) for r in self.transport.json("GET", path)]

    def manifest(self, version: DatasetVersion) -> dict[str, dict[str, Any]]:
        if version.kind != "directory":
            return {}
        path = f"/datasets/{seg(version.name)}/versions/{version.version}/manifest"
        return self.transport.json_object("GET", path)

    def checkout(self, version: DatasetVersion, out: Path) -> Path:
        if version.kind == "directory":
            for rel, entry in self.manifest(version).items():
                self._download(entry["digest"], out / rel)
            return out
        target = out / f"{version.name}.{version.format}" if out.is_dir() else out
        self._download(object_digest(version.object_key), target)
        return target

    def _download(self, digest: str, target: Path) -> None:
        response = self.transport.stream(f"/datasets/objects/{digest}")
        try:
            altered = IntegrityError(f"the server's copy of {target.name} does not match its hash")
            save_checked(_Reader(response), target, digest, altered)  # type: ignore[arg-type]
        finally:
            response.close()

    def load(self, ref: str, version: int | None = None) -> pd.DataFrame:
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


def _file_chunks(path: Path) -> Any:
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


class _Reader:
    """A streamed response as a file-like object with ``read``."""

    def __init__(self, response: Any) -> None:
        self._chunks = response.iter_bytes(_CHUNK)
        self._left = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._left) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._left += chunk
        taken = self._left if size < 0 else self._left[:size]
        self._left = self._left[len(taken) :]
        return taken
