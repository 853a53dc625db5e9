"""API tokens: ``sw_<id>_<secret>``, stored as a SHA-256 of the secret, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

import sqlalchemy as sa

from shipway.errors import InvalidArgument, NotFound
from shipway.store import schema as t
from shipway.store.database import Database
from shipway.store.validation import check_key
from shipway.types import TokenInfo

# Each includes the ones before it. ``predict`` may only call model servers (predict, feedback).
ROLES = ("predict", "viewer", "editor", "approver", "admin")
# Roles made for one service, outside that order: each may do what the role it names may,
# plus the one thing it is for. ``labeller`` labels any request that exists (a predict token
# labels only the requests it made); ``server`` is a model server's or batch job's own
# identity, the only one (with admin) that writes log segments and health records.
SERVICE_ROLES = {"labeller": "predict", "server": "viewer"}
# Who holds each service role's power besides the role itself.
_ALSO = {"labeller": ("approver", "admin"), "server": ("admin",)}
ALL_ROLES = (*ROLES, *SERVICE_ROLES)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, user: str, role: str) -> tuple[str, TokenInfo]:
        """A new token; the returned string is the only time its secret is shown."""
        check_key(user, "user")
        if role not in ALL_ROLES:
            raise InvalidArgument(
                f"unknown role {role!r}", hint=f"use one of: {', '.join(ALL_ROLES)}"
            )
        token_id, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        info = TokenInfo(token_id, user, role, time.time())
        with self.db.write() as conn:
            conn.execute(
                t.api_tokens.insert(),
                {
                    "token_id": token_id,
                    "user": user,
                    "role": role,
                    "secret_hash": _hash(secret),
                    "created_at": info.created_at,
                    "revoked_at": None,
                },
            )
        return f"sw_{token_id}_{secret}", info

    def verify(self, token: str) -> TokenInfo | None:
        """Who a presented token belongs to, or None when it is unknown, wrong or revoked."""
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != "sw" or len(parts[1]) != 32:
            return None
        with self.db.read() as conn:
            row = conn.execute(
                sa.select(t.api_tokens).where(t.api_tokens.c.token_id == parts[1])
            ).first()
        if (
            row is None
            or row.revoked_at is not None
            or not hmac.compare_digest(row.secret_hash, _hash(parts[2]))
        ):
            return None
        return TokenInfo(row.token_id, row.user, row.role, row.created_at)

    def any_active(self) -> bool:
        with self.db.read() as conn:
            return (
                conn.execute(
                    sa.select(t.api_tokens.c.token_id)
                    .where(t.api_tokens.c.revoked_at.is_(None))
                    .limit(1)
                ).first()
                is not None
            )

    def list(self) -> list[TokenInfo]:
        with self.db.read() as conn:
            rows = conn.execute(sa.select(t.api_tokens).order_by(t.api_tokens.c.created_at)).all()
        return [TokenInfo(r.token_id, r.user, r.role, r.created_at, r.revoked_at) for r in rows]

    def revoke(self, token_id: str) -> None:
        with self.db.write() as conn:
            done = conn.execute(
                t.api_tokens.update()
                .where(t.api_tokens.c.token_id == token_id, t.api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            if done.rowcount == 0:
                raise NotFound(f"no active token {token_id!r}", hint="see `shipway tokens list`")


def role_allows(role: str, needed: str) -> bool:
    """Whether a token of ``role`` may do what needs ``needed`` (a role of either kind)."""
    if needed in SERVICE_ROLES:
        return role == needed or role in _ALSO[needed]
    base = SERVICE_ROLES.get(role, role)
    if base not in ROLES or needed not in ROLES:
        return False  # a role this version does not know allows nothing
    return ROLES.index(base) >= ROLES.index(needed)
