"""Idempotency keys: a retried write is answered with the first answer, never applied twice.

A key is claimed before the request runs (``status`` NULL), and the answer is stored after.
A second request with the key finds the answer, or learns that the first is still running.
A claim left behind by a server that died mid-request is taken over after ``STALE_SECONDS``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from shipway.store import schema as t
from shipway.store.database import Database

KEEP_SECONDS = 24 * 3600  # how long an answer is kept for retries
STALE_SECONDS = 600  # a claim this old belongs to a request that will never finish
_PURGE_EVERY = 600.0


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int | None  # None: the first request is still running
    body: bytes
    content_type: str


class IdempotencyStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._last_purge = 0.0

    def claim(self, key: str, fingerprint: str) -> StoredAnswer | None:
        """Claim ``key`` for a new request (None), or return what is stored under it."""
        now = time.time()
        self._purge(now)
        try:
            return self._claim(key, fingerprint, now)
        except sa.exc.IntegrityError:  # a concurrent request claimed it first (PostgreSQL)
            return self._claim(key, fingerprint, now)

    def _claim(self, key: str, fingerprint: str, now: float) -> StoredAnswer | None:
        with self.db.write() as conn:
            row = conn.execute(
                sa.select(t.idempotency_keys).where(t.idempotency_keys.c.key == key)
            ).first()
            if row is not None and not (
                row.status is None and now - row.created_at > STALE_SECONDS
            ):
                return StoredAnswer(
                    row.fingerprint, row.status, row.body or b"", row.content_type or ""
                )
            if row is not None:
                conn.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.key == key))
            conn.execute(
                t.idempotency_keys.insert(),
                {"key": key, "fingerprint": fingerprint, "created_at": now},
            )
        return None

    def finish(self, key: str, status: int, body: bytes, content_type: str) -> None:
        with self.db.write() as conn:
            conn.execute(
                t.idempotency_keys.update()
                .where(t.idempotency_keys.c.key == key)
                .values(status=status, body=body, content_type=content_type[:100])
            )

    def release(self, key: str) -> None:
        """Forget a claim whose request failed, so that a retry runs it again."""
        with self.db.write() as conn:
            conn.execute(t.idempotency_keys.delete().where(t.idempotency_keys.c.key == key))

    def _purge(self, now: float) -> None:
        if now - self._last_purge < _PURGE_EVERY:
            return
        self._last_purge = now
        with self.db.write() as conn:
            conn.execute(
                t.idempotency_keys.delete().where(
                    t.idempotency_keys.c.created_at < now - KEEP_SECONDS
                )
            )
