"""Tracking through ``shipway server``: the same interface as the local backend, over HTTP.

Metric calls are checked here and buffered as they are locally; a background thread sends
them in batches, so a training loop never waits on a round trip. Memory stays bounded: past
``MAX_PENDING`` values a call sends in the foreground.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from shipway.client.transport import Transport
from shipway.config import Settings
from shipway.data import digests as datasets
from shipway.errors import IntegrityError, InvalidArgument, NotFound
from shipway.session import Session
from shipway.store.artifacts import clean_key, save_checked
from shipway.tracking import environment
from shipway.tracking.backend import TrackingBackend
from shipway.tracking.buffer import MetricBuffer
from shipway.tracking.environment import environment_document, environment_key
from shipway.types import (
    ArtifactInfo,
    DatasetInput,
    Experiment,
    Metric,
    Run,
    RunStatus,
    from_plain,
    json_number,
)

BATCH = 10_000  # the server takes at most this many values a request
MAX_PENDING = 200_000  # values waiting to be sent, at most (about 20 MB)
_CHUNK = 1 << 20


class RemoteTracking(TrackingBackend):
    """Runs, values and artifacts kept by the ``shipway server`` at ``settings.store.tracking_uri``."""

    def __init__(self, settings: Settings, transport: Transport | None = None) -> None:
        self.settings = settings
        assert settings.store.tracking_uri is not None
        self.transport = transport or Transport(settings.store.tracking_uri, settings.store.token)
        self.buffer = MetricBuffer(self._send_metrics, settings.tracking.flush_seconds, MAX_PENDING)
        self._stored_environments: set[str] = set()

    @classmethod
    def of(cls, session: Session) -> RemoteTracking:
        """The session's tracking through the server its tracking URI names."""
        return cls(session.settings)

    # -- experiments -------------------------------------------------------------------
    def create_experiment(self, name: str, tags: Mapping[str, Any] | None = None) -> Experiment:
        body = {"name": name, "tags": {str(k): str(v) for k, v in (tags or {}).items()}}
        return from_plain(Experiment, self.transport.json("POST", "/experiments", json=body))

    def get_experiment(self, name_or_id: str) -> Experiment:
        return from_plain(
            Experiment, self.transport.json("GET", f"/experiments/{_seg(name_or_id)}")
        )

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        return [
            (from_plain(Experiment, e), int(e["runs"]))
            for e in self.transport.json("GET", "/experiments")
        ]

    # -- runs --------------------------------------------------------------------------
    def create_run(
        self,
        experiment: str | None = None,
        *,
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        parent_run_id: str | None = None,
        capture_environment: bool = True,
        user: str | None = None,
    ) -> Run:
        # The server records the caller (its token's user) as the run's user.
        env_tags: dict[str, str] = {}
        if capture_environment:
            env_tags, full_env = environment.capture()
            env_tags["shipway.environment"] = self._store_environment(full_env)
        body = {
            "experiment": experiment,
            "name": name,
            "params": _jsonable(params),
            "tags": _jsonable({**env_tags, **(tags or {})}),
            "parent_run_id": parent_run_id,
        }
        return from_plain(Run, self.transport.json("POST", "/runs", json=body))

    def _store_environment(self, full_env: dict[str, Any]) -> str:
        data = environment_document(full_env)
        key = environment_key(data)
        if key not in self._stored_environments:
            headers = {"content-type": "application/json"}
            self.transport.request("POST", "/environments", content=lambda: data, headers=headers)
            self._stored_environments.add(key)
        return key

    def get_environment(self, run_id: str) -> dict[str, Any]:
        key = self.get_run(run_id).tags.get("shipway.environment")
        if key is None:
            raise NotFound(f"run {run_id} recorded no environment")
        digest = key.removeprefix("environments/").removesuffix(".json")
        return self.transport.json_object("GET", f"/environments/{_seg(digest)}")

    def _end_run(self, run_id: str, status: RunStatus) -> None:
        self.transport.request(
            "POST", f"/runs/{_seg(run_id)}/end", json={"status": status.value}, answer_optional=True
        )

    def _get_run(self, run_id: str) -> Run:
        return from_plain(Run, self.transport.json("GET", f"/runs/{_seg(run_id)}"))

    # -- values ------------------------------------------------------------------------
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> None:
        """Sent now. Over ``BATCH`` values go in several requests, params and tags in the first."""
        self._log_batch(run_id, metrics, params, tags, uuid.uuid4().hex)

    def _log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric],
        params: Mapping[str, Any] | None,
        tags: Mapping[str, Any] | None,
        key: str,
    ) -> None:
        """Each request of the batch has a key derived from ``key``, so sending the same
        batch again with the same key stores nothing twice."""
        rows = [_metric(m) for m in metrics]
        first = {"metrics": rows[:BATCH], "params": _jsonable(params), "tags": _jsonable(tags)}
        if not (rows or params or tags):
            return
        path = f"/runs/{_seg(run_id)}/log-batch"
        self.transport.request(
            "POST", path, json=first, idempotency_key=f"{key}-0", answer_optional=True
        )
        for part, start in enumerate(range(BATCH, len(rows), BATCH), start=1):
            body = {"metrics": rows[start : start + BATCH]}
            self.transport.request(
                "POST", path, json=body, idempotency_key=f"{key}-{part}", answer_optional=True
            )

    def _send_metrics(self, run_id: str, metrics: Sequence[Metric], key: str) -> None:
        self._log_batch(run_id, metrics, None, None, key)

    def _metric_history(self, run_id: str, key: str) -> list[Metric]:
        found = self.transport.json("GET", f"/runs/{_seg(run_id)}/metrics/{_seg(key)}")
        return [from_plain(Metric, m) for m in found]

    # -- artifacts ---------------------------------------------------------------------
    def _put(self, run_id: str, rel: str, opener: Any, size: int | None = None) -> ArtifactInfo:
        """Stream one file up; ``opener`` gives a fresh binary stream for each attempt."""
        headers = {"content-type": "application/octet-stream"}
        if size is not None:
            headers["content-length"] = str(size)
        opened: list[IO[bytes]] = []

        def body() -> Iterator[bytes]:
            stream = opener()
            opened.append(stream)
            while chunk := stream.read(_CHUNK):
                yield chunk

        try:
            answer = self.transport.json(
                "PUT", f"/runs/{_seg(run_id)}/artifacts/{_path(rel)}", content=body, headers=headers
            )
        finally:
            for stream in opened:
                stream.close()
        return from_plain(ArtifactInfo, answer)

    def log_artifact(
        self, run_id: str, local_path: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        local = Path(local_path)
        if not local.exists():
            raise NotFound(f"no file or folder at {local}")
        prefix = clean_key(artifact_path) if artifact_path else ""
        if local.is_dir():
            return self._upload_dir(
                run_id, local, f"{prefix}/{local.name}" if prefix else local.name
            )
        rel = f"{prefix}/{local.name}" if prefix else local.name
        return [self._put(run_id, rel, lambda: local.open("rb"), local.stat().st_size)]

    def log_artifacts(
        self, run_id: str, local_dir: str | Path, artifact_path: str | None = None
    ) -> list[ArtifactInfo]:
        local = Path(local_dir)
        if not local.is_dir():
            raise NotFound(f"no folder at {local}")
        return self._upload_dir(run_id, local, clean_key(artifact_path) if artifact_path else "")

    def _upload_dir(self, run_id: str, local: Path, base: str) -> list[ArtifactInfo]:
        infos = []
        for file in sorted(p for p in local.rglob("*") if p.is_file()):
            rel = file.relative_to(local).as_posix()
            rel = f"{base}/{rel}" if base else rel
            infos.append(self._put(run_id, rel, lambda f=file: f.open("rb"), file.stat().st_size))
        return infos

    def log_stream(self, run_id: str, source: Any, artifact_file: str) -> ArtifactInfo:
        rel = clean_key(artifact_file)
        if source.seekable():
            start = source.tell()

            def rewind() -> Any:
                source.seek(start)
                return _Unclosable(source)

            return self._put(run_id, rel, rewind)
        # A one-pass stream cannot be sent twice: spool it so that a retry can resend it.
        with tempfile.TemporaryFile() as spool:
            while chunk := source.read(_CHUNK):
                spool.write(chunk)
            size = spool.tell()

            def reopen() -> Any:
                spool.seek(0)
                return _Unclosable(spool)

            return self._put(run_id, rel, reopen, size)

    def log_bytes(self, run_id: str, data: bytes, artifact_file: str) -> ArtifactInfo:
        return self._put(run_id, clean_key(artifact_file), lambda: io.BytesIO(data), len(data))

    def open_artifact(self, run_id: str, artifact_file: str) -> tuple[ArtifactInfo, Any]:
        rel = clean_key(artifact_file)
        response = self.transport.stream(f"/runs/{_seg(run_id)}/artifacts/{_path(rel)}")
        size = int(response.headers.get("x-shipway-size", "0"))
        info = ArtifactInfo(rel, size, response.headers.get("x-shipway-digest", ""))
        return info, _ResponseStream(response)

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactInfo]:
        found = self.transport.json("GET", f"/runs/{_seg(run_id)}/artifacts", params={"path": path})
        return [from_plain(ArtifactInfo, a) for a in found]

    def _fetch(self, run_id: str, info: ArtifactInfo, local: Path) -> None:
        """Stream one file down into a temporary name; it gets its name only if its hash matches."""
        _, stream = self.open_artifact(run_id, info.path)
        with stream:
            save_checked(
                stream,
                local,
                info.digest,
                IntegrityError(
                    f"artifact {info.path!r} of run {run_id} does not match its recorded hash",
                    hint="it was altered in the server's store after it was logged",
                ),
            )

    # -- datasets ----------------------------------------------------------------------
    def log_dataset(self, run_id: str, name: str, data: Any, role: str = "train") -> str:
        record = datasets.describe(name, data, role)
        self.log_inputs(run_id, [record])
        return record.digest

    def log_inputs(self, run_id: str, inputs: Sequence[DatasetInput]) -> None:
        body = {
            "inputs": [
                {
                    "name": i.name,
                    "digest": i.digest,
                    "role": i.role,
                    "rows": i.rows,
                    "source": i.source,
                }
                for i in inputs
            ]
        }
        self.transport.request("POST", f"/runs/{_seg(run_id)}/inputs", json=body)

    # -- search ------------------------------------------------------------------------
    def _search(
        self,
        experiments: list[str],
        filter: str | None,  # noqa: A002
        order_by: Sequence[str] | None,
        max_results: int,
    ) -> list[Run]:
        body = {
            "experiments": experiments,
            "filter": filter,
            "order_by": list(order_by or []),
            "max_results": max_results,
        }
        return [from_plain(Run, r) for r in self.transport.json("POST", "/runs/search", json=body)]

    def close(self) -> None:
        self.buffer.close()
        self.transport.close()


def _seg(value: str) -> str:
    """One path segment, escaped so that a '/' or '?' in a name cannot change the route."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"expected a non-empty name or id, got {value!r}")
    return quote(value, safe="")


def _path(rel: str) -> str:
    return "/".join(quote(part, safe="") for part in rel.split("/"))


def _metric(m: Metric) -> dict[str, Any]:
    value = json_number(m.value)
    return {"key": m.key, "value": value, "step": m.step, "timestamp": m.timestamp or None}


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Params and tags as the server takes them: plain JSON values, anything else as text."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        out[str(key)] = (
            value if isinstance(value, str | int | float | bool) or value is None else str(value)
        )
    return out


class _Unclosable(io.RawIOBase):
    """A view of a caller's stream that the upload may close without closing the stream."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def read(self, size: int = -1) -> bytes:
        data: bytes = self.inner.read(size)
        return data

    def readable(self) -> bool:
        return True


class _ResponseStream(io.RawIOBase):
    """A streamed response body as a binary file with ``read(n)``."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self._chunks = response.iter_bytes(_CHUNK)
        self._left = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._left + b"".join(self._chunks)
        while len(self._left) < size:
            chunk = next(self._chunks, b"")
            if not chunk:
                break
            self._left += chunk
        out, self._left = self._left[:size], self._left[size:]
        return out

    def close(self) -> None:
        if not self.closed:
            self.response.close()
        super().close()
