"""Answer a retried write with the first answer: the ``Idempotency-Key`` request header.

The remote client sends a fresh key with every write and the same key with its retries. The
first request with a key runs and its answer (any status below 500) is stored; a retry gets
that answer back with ``idempotent-replay: true``, so a lost response never doubles a metric,
a run or a model version. A retry that arrives while the first is still running gets 409
``REQUEST_IN_PROGRESS`` with ``Retry-After``; the first request's server renews its claim
while it runs, so a claim left by a server that died lapses within seconds and the retry
runs then, unless the dead request's changes were already stored, in which case the retry
gets 409 ``ANSWER_LOST`` and nothing is applied twice. The same key with a different request
is a 422. Artifact uploads are exempt: a PUT of the same bytes to the same path is
idempotent anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipway.server.errors import error_body
from shipway.store.database import applying
from shipway.store.idempotency_store import IdempotencyStore, StoredAnswer

log = logging.getLogger(__name__)

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

        assert isinstance(stored, StoredAnswer)
        if stored.fingerprint != fingerprint:
            await _answer(
                send,
                422,
                error_body(
                    "IDEMPOTENCY_KEY_REUSED",
                    "this Idempotency-Key was used for a different request; send a new key",
                ),
            )
        elif stored.status is None and stored.applied:
            message = (
                "the first request with this Idempotency-Key was applied, but its server "
                "stopped before answering; it was not applied again"
            )
            body = error_body("ANSWER_LOST", message)
            await _answer(send, 409, body)
        elif stored.status is None:
            wait = str(max(1, math.ceil(stored.retry_after))).encode()
            message = "the first request with this Idempotency-Key is still running; retry shortly"
            body = error_body("REQUEST_IN_PROGRESS", message)
            await _answer(send, 409, body, extra=[(b"retry-after", wait)])
        else:
            await send(
                {
                    "type": "http.response.start",
                    "status": stored.status,
                    "headers": [
                        (b"content-type", stored.content_type.encode()),
                        (b"content-length", str(len(stored.body)).encode()),
                        (b"idempotent-replay", b"true"),
                    ],
                }
            )
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

        renewing = asyncio.ensure_future(self._renew(key))  # created before the key is set
        token = applying.set(key)  # the request's write transactions mark the key applied
        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await run_in_threadpool(self.store.release, key)
            raise
        finally:
            applying.reset(token)
            renewing.cancel()
        # A 5xx that changed nothing is forgotten, so that a retry runs the request again.
        await run_in_threadpool(self.store.settle, key, status, b"".join(chunks), content_type)

    async def _renew(self, key: str) -> None:
        """Keep the claim's lease while the request runs (a third of the lease apart)."""
        while True:
            await asyncio.sleep(self.store.lease_seconds / 3)
            try:
                await run_in_threadpool(self.store.renew, key)
            except Exception as exc:  # the store is briefly away: the next renewal may succeed
                log.warning("could not renew the claim of an idempotency key: %s", exc)


def _fingerprint(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (
        scope["method"].encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        headers.get(b"authorization", b""),
        body,
    ):
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
