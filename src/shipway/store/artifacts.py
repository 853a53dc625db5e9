"""The artifact store: files under one root, a local folder or any fsspec URL (``s3://…``).

Every file is hashed (BLAKE3) while it is written, and the digest is returned so that the
metadata store can record it; reads can verify the digest before the bytes are trusted.
Writes are atomic: a broken upload leaves no partial file at the final key.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from shipway.errors import IntegrityError, InvalidArgument, NotFound, require
from shipway.types import ArtifactInfo

_CHUNK = 1 << 20


_THREADED_FROM = 4 << 20  # below this, threads and mmap cost more than they save


def new_hasher(threaded: bool = False) -> Any:
    import blake3

    return blake3.blake3(max_threads=blake3.blake3.AUTO) if threaded else blake3.blake3()


def digest_file(path: str | Path) -> str:
    """BLAKE3 of a file: read whole when small, mmap and all cores when large."""
    size = os.path.getsize(path)
    if size < _THREADED_FROM:
        hasher = new_hasher()
        with open(path, "rb") as f:
            hasher.update(f.read())
    else:
        hasher = new_hasher(threaded=True)
        hasher.update_mmap(str(path))
    return "blake3:" + str(hasher.hexdigest())


def digest_bytes(data: bytes) -> str:
    hasher = new_hasher()
    hasher.update(data)
    return "blake3:" + str(hasher.hexdigest())


def clean_key(key: str) -> str:
    """A relative POSIX key with no way out of its root."""
    if not key or key.startswith(("/", "\\")) or ":" in key.split("/")[0]:
        raise InvalidArgument(
            f"artifact path {key!r} must be relative", hint="use a path like 'model/model.pkl'"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidArgument(
            f"artifact path {key!r} contains a control character (NUL, newline …)",
            hint="use a path like 'model/model.pkl'",
        )
    parts = PurePosixPath(key.replace("\\", "/")).parts
    if any(part in ("..", "") for part in parts):
        raise InvalidArgument(f"artifact path {key!r} may not contain '..'")
    return "/".join(p for p in parts if p != ".")


def save_checked(source: IO[bytes], target: Path, digest: str | None, mismatch: Exception) -> Path:
    """Stream ``source`` into ``target`` through a temporary name: the file gets its name only
    when its hash matches ``digest`` (when given); otherwise ``mismatch`` is raised."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    hasher = new_hasher()
    try:
        with tmp.open("wb") as out:
            while chunk := source.read(_CHUNK):
                hasher.update(chunk)
                out.write(chunk)
        if digest is not None and "blake3:" + hasher.hexdigest() != digest:
            raise mismatch
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


class BytesSink(Protocol):
    """Where a writer puts bytes by key: an :class:`ArtifactStore`, or a remote model
    server's sink that sends them to the platform."""

    def put_bytes(self, data: bytes, key: str) -> Any: ...


class ArtifactStore:
    """Files under a root URL, hashed on the way in."""

    def __init__(self, root: str, *, endpoint_url: str | None = None) -> None:
        self.root = root.rstrip("/")
        self.is_local = "://" not in root or root.startswith("file://")
        if self.is_local:
            self.root = str(Path(root.removeprefix("file://")).resolve())
            Path(self.root).mkdir(parents=True, exist_ok=True)
            self._fs: Any = None
        else:
            protocol = root.split("://", 1)[0]
            if protocol in ("s3", "s3a"):
                require("s3fs", "s3")
            import fsspec

            options: dict[str, Any] = {}
            if protocol in ("s3", "s3a"):
                # Other processes (model servers, compaction) write here all the time: a
                # cached listing would hide their segments, or show deleted ones, for good.
                options["use_listings_cache"] = False
            if endpoint_url and protocol in ("s3", "s3a"):
                options["client_kwargs"] = {"endpoint_url": endpoint_url}
                options["skip_instance_cache"] = True
            self._fs = fsspec.filesystem(protocol, **options)

    # -- locations ---------------------------------------------------------------------
    def uri(self, key: str) -> str:
        return f"{self.root}/{clean_key(key)}"

    def _path(self, key: str) -> str:
        location = self.uri(key)
        if not self.is_local:
            return location.split("://", 1)[1]
        # A symlink inside the store must not lead outside it.
        resolved = Path(location).resolve()
        if resolved != Path(self.root) and Path(self.root) not in resolved.parents:
            raise InvalidArgument(f"artifact path {key!r} leads outside the artifact store")
        return location

    def arrow_filesystem(self) -> tuple[Any, str]:
        """The store as a pyarrow filesystem and the root's path in it, for
        ``pyarrow.dataset`` (which prunes partitions and reads only the columns asked for)."""
        import pyarrow.fs as pafs

        if self.is_local:
            return pafs.LocalFileSystem(), self.root
        return pafs.PyFileSystem(pafs.FSSpecHandler(self._fs)), self.root.split("://", 1)[1]

    # -- writing -----------------------------------------------------------------------
    def put_stream(self, source: IO[bytes], key: str) -> ArtifactInfo:
        """Copy a readable stream to ``key``, hashing as it goes; atomic at the final key."""
        key = clean_key(key)
        hasher, size = new_hasher(), 0
        if self.is_local:
            final = Path(self._path(key))
            final.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        hasher.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        else:
            # Object stores make an object visible only when the upload completes, so a
            # failure must discard the upload rather than close (which would commit it).
            out = self._fs.open(self._path(key), "wb")
            try:
                while chunk := source.read(_CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            except BaseException:
                out.discard()
                out.closed = True  # so garbage collection does not try to finish the upload
                raise
            out.close()
        return ArtifactInfo(path=key, size=size, digest="blake3:" + hasher.hexdigest())

    def put_file(self, local_path: str | Path, key: str) -> ArtifactInfo:
        local = Path(local_path)
        if not local.is_file():
            raise NotFound(f"no file at {local}")
        with local.open("rb") as source:
            return self.put_stream(source, key)

    def put_bytes(self, data: bytes, key: str) -> ArtifactInfo:

        return self.put_stream(io.BytesIO(data), key)

    def put_dir(self, local_dir: str | Path, prefix: str) -> list[ArtifactInfo]:
        base = Path(local_dir)
        if not base.is_dir():
            raise NotFound(f"no folder at {base}")
        infos = []
        for path in sorted(p for p in base.rglob("*") if p.is_file()):
            relative = path.relative_to(base).as_posix()
            infos.append(
                self.put_file(path, f"{prefix.rstrip('/')}/{relative}" if prefix else relative)
            )
        return infos

    # -- reading -----------------------------------------------------------------------
    def has_local_folder(self, prefix: str) -> bool | None:
        """Whether a local store holds anything under ``prefix`` (None for a remote store,
        where asking costs a request): a cheap answer before a pyarrow listing."""
        return Path(self._path(prefix)).is_dir() if self.is_local else None

    def exists(self, key: str) -> bool:
        path = self._path(key)
        return Path(path).is_file() if self.is_local else bool(self._fs.isfile(path))

    def open(self, key: str) -> IO[bytes]:
        path = self._path(key)
        try:
            return open(path, "rb") if self.is_local else self._fs.open(path, "rb")  # noqa: SIM115
        except FileNotFoundError as exc:
            raise NotFound(f"no artifact at {key!r}") from exc

    def read_bytes(self, key: str, *, digest: str | None = None) -> bytes:
        with self.open(key) as f:
            data = f.read()
        if digest is not None and digest_bytes(data) != digest:
            raise IntegrityError(
                f"artifact {key!r} does not match its recorded hash: it was altered after it was logged"
            )
        return data

    def get_file(self, key: str, local_path: str | Path, *, digest: str | None = None) -> Path:
        """Download ``key`` to ``local_path``; with ``digest``, refuse bytes that do not match."""
        with self.open(key) as source:
            return save_checked(
                source,
                Path(local_path),
                digest,
                IntegrityError(
                    f"artifact {key!r} does not match its recorded hash: it was altered after it was logged",
                    hint="re-log it from the original, or restore the file",
                ),
            )

    def list(self, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (recursively), relative to the root."""
        base = (
            self._path(prefix)
            if prefix
            else (self.root if self.is_local else self.root.split("://", 1)[1])
        )
        if self.is_local:
            root = Path(base)
            if not root.exists():
                return []
            if root.is_file():
                return [clean_key(prefix)]
            found = (
                p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".upload-")
            )
            return sorted(p.relative_to(self.root).as_posix() for p in found)
        if not self._fs.exists(base):
            return []
        strip = len(self.root.split("://", 1)[1]) + 1
        return sorted(p[strip:] for p in self._fs.find(base))

    def delete(self, prefix: str) -> None:
        path = self._path(prefix)
        if self.is_local:
            target = Path(path)
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
        elif self._fs.exists(path):
            self._fs.rm(path, recursive=True)
