"""Bearer tokens and roles. With no active token the server is open, and `shipway server`
then binds to loopback only; once a token exists, every endpoint needs one with a role that
allows it: viewer (read) < editor (log runs, register models) < approver (approve, promote)
< admin (policies)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from shipway.errors import Forbidden, Unauthenticated
from shipway.store.token_store import role_allows

__all__ = ["Forbidden", "Principal", "Unauthenticated", "requires"]


@dataclass(frozen=True)
class Principal:
    user: str
    role: str


def requires(role: str) -> Callable[[Request], Principal]:
    def check(request: Request) -> Principal:
        tokens = request.app.state.tokens
        if not tokens.any_active():
            return Principal(request.app.state.tracking.user, "admin")
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(
                "this server needs a token",
                hint="send Authorization: Bearer <token> (set SHIPWAY_TOKEN)",
            )
        info = tokens.verify(token.strip())
        if info is None:
            raise Unauthenticated("the token is unknown, wrong or revoked")
        if not role_allows(info.role, role):
            article = "an" if info.role[0] in "aeiou" else "a"
            raise Forbidden(f"{info.user} is {article} {info.role}; this needs the {role} role")
        return Principal(info.user, info.role)

    check.role = role  # type: ignore[attr-defined]  # read into the OpenAPI document
    return check
