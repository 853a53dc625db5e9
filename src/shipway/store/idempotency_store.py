"""Idempotency keys: a retried write is answered with the first answer, never applied twice.

A key is claimed before its request runs (``status`` NULL) with a short lease, which the
server renews while the request runs, and the answer is stored after. A second request with
the key finds the answer, or learns that the first is still running. When the lease lapses,
the server that held it died mid-request: if its write transaction had committed
(``applied``, set inside that very transaction) the retry is told its answer was lost;
otherwise the retry takes the claim over and runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from shipway.errors import Conflict
from shipway.store import schema as t
from shipway.store.database import Database

KEEP_SECONDS = 24 * 3600  # how long an answer is kept for retries
LEASE_SECONDS = 10.0  # a claim not renewed for this long belongs to a server that died
STALE_SECONDS = 600  # claims written before leases existed: taken over after this long
_PURGE_EVERY = 600.0


@dataclass(frozen=True)
class StoredAnswer:
    fingerprint: str
    status: int | None  # None: the first request is still running (or died having applied)
    body: bytes
    content_type: str
    applied: bool = False  # the first request's changes are stored, but its answer is lost
    retry_after: float = 1.0  # seconds until its lease lapses, while it runs


class IdempotencyStore:
    def __init__(self, db: Database, lease_seconds: float = LEASE_SECONDS) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self._last_purge = 0.0

    def claim(self, key: str, fingerprint: str) -> StoredAnswer | None:
        """Claim ``key`` for a new request (None), or return what is stored under it."""
        now = time.time()
        self._purge(now)
        try:
            return self._claim(key, fingerprint, now)
        except Conflict:  # a concurrent request claimed it first (PostgreSQL)
            return self._claim(key, fingerprint, now)

    def _claim(self, key: str, fingerprint: str, now: float) -> StoredAnswer | None:
        table = t.idempotency_keys
        with self.db.write() as conn:
            row = conn.execute(sa.select(table).where(table.c.key == key)).first()
            if row is None:
                conn.execute(
                    table.insert(),
                    {
                        "key": key,
                        "fingerprint": fingerprint,
                        "created_at": now,
                        "lease_until": now + self.lease_seconds,
                    },
                )
                return None
            stored = StoredAnswer(
                row.fingerprint,
                row.status,
                row.body or b"",
                row.content_type or "",
                applied=bool(row.applied),
            )
            if row.status is not None or row.fingerprint != fingerprint:
                return stored
            lease_until = row.lease_until
            if lease_until is None:  # a claim from before leases
                lease_until = row.created_at + STALE_SECONDS
            if lease_until > now:  # its server is alive and still working on it
                return StoredAnswer(row.fingerprint, None, b"", "", retry_after=lease_until - now)
            if row.applied:  # it died after its changes were stored: never apply them twice
                return stored
            # It died before storing anything: this request takes over, unless another retry
            # took it over first (the lease it read has changed since).
            same_lease = (
                table.c.lease_until.is_(None)
                if row.lease_until is None
                else table.c.lease_until == row.lease_until
            )
            taken = conn.execute(
                table.update()
                .where(table.c.key == key, table.c.status.is_(None), same_lease)
                .values(lease_until=now + self.lease_seconds)
            )
            if taken.rowcount != 1:
                return StoredAnswer(row.fingerprint, None, b"", "", retry_after=self.lease_seconds)
        return None

    def renew(self, key: str) -> None:
        """Extend the lease of a claim whose request is still running."""
        table = t.idempotency_keys
        with self.db.write() as conn:
            conn.execute(
                table.update()
                .where(table.c.key == key, table.c.status.is_(None))
                .values(lease_until=time.time() + self.lease_seconds)
            )

    def settle(self, key: str, status: int, body: bytes, content_type: str) -> None:
        """Store the answer; a server error that changed nothing is forgotten instead, so that
        a retry runs the request again."""
        table = t.idempotency_keys
        with self.db.write() as conn:
            if status >= 500:
                gone = conn.execute(
                    table.delete().where(table.c.key == key, table.c.applied.is_(False))
                )
                if gone.rowcount:
                    return
            conn.execute(
                table.update()
                .where(table.c.key == key)
                .values(status=status, body=body, content_type=content_type[:100])
            )

    def release(self, key: str) -> None:
        """Forget a claim whose request failed without applying anything, so a retry runs it."""
        with self.db.write() as conn:
            conn.execute(
                t.idempotency_keys.delete().where(
                    t.idempotency_keys.c.key == key, t.idempotency_keys.c.applied.is_(False)
                )
            )

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
