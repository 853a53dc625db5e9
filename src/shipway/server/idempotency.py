"""Answer a retried write with the first answer: the ``Idempotency-Key`` request header.

The remote client sends a fresh key with every write and the same key with its retries. The
first request with a key runs and its answer (any status below 500) is stored; a retry gets
that answer back with ``idempotent-replay: true``, so a lost response never doubles a metric,
a run or a model version. A retry that arrives while the first is still running gets 409
``REQUEST_IN_PROGRESS`` with ``Retry-After``. The same key with a different request is a 422.
Artifact uploads are exempt: a PUT of the same bytes to the same path is idempotent anyway.
"""

from __future__ import annotations

import hashlib
import json

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipway.server.errors import error_body
from shipway.store.idempotency_store import IdempotencyStore

HEADER = b"idempotency-key"
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


class Idempotency:
    def __init__(self, app: ASGIApp, store: IdempotencyStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        key = headers.get(HEADER, b"").decode("latin-1").strip()
        if (
            not key
            or scope["method"] not in _WRITES
            or (scope["method"] == "PUT" and "/artifacts/" in scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        if len(key) > 128:
            await _answer(
                send,
                400,
                error_body("INVALID_ARGUMENT", "an Idempotency-Key has at most 128 characters"),
            )
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        fingerprint = _fingerprint(scope, headers, body)
        stored = await run_in_threadpool(self.store.claim, key, fingerprint)
        if stored is not None:
            await self._replay(send, stored, fingerprint)
            return
        await self._run_and_store(scope, send, key, body)

    async def _replay(self, send: Send, stored: object, fingerprint: str) -> None:
        from shipway.store.idempotency_store import StoredAnswer

        assert isinstance(stored, StoredAnswer)
        if stored.fingerprint != fingerprint:
            await _answer(send, 422, error_body(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used for a different request; send a new key",
            ))  # fmt: skip
        elif stored.status is None:
            await _answer(
                send, 409,
                error_body("REQUEST_IN_PROGRESS", "the first request with this Idempotency-Key is still running; retry shortly"),
                extra=[(b"retry-after", b"1")],
            )  # fmt: skip
        else:
            await send({"type": "http.response.start", "status": stored.status, "headers": [
                (b"content-type", stored.content_type.encode()),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replay", b"true"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": stored.body})

    async def _run_and_store(self, scope: Scope, send: Send, key: str, body: bytes) -> None:
        sent_body = False

        async def replay_body() -> Message:
            nonlocal sent_body
            if sent_body:
                return {"type": "http.disconnect"}
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        status, content_type, chunks = 500, "", []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers") or []).get(b"content-type", b"").decode()
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(self.store.release, key)
            raise
        if status >= 500:  # nothing was written (a failed write rolls back): let a retry run again
            await run_in_threadpool(self.store.release, key)
        else:
            await run_in_threadpool(self.store.finish, key, status, b"".join(chunks), content_type)


def _fingerprint(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""),
                 headers.get(b"authorization", b""), body):  # fmt: skip
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _answer(
    send: Send, status: int, body: dict[str, object], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": data})
