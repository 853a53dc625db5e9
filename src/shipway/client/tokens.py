"""API tokens through ``shipway server`` (an admin's token manages them)."""

from __future__ import annotations

from shipway.client.deployments import seg, transport_of
from shipway.services import TokenBackend
from shipway.session import Session
from shipway.types import TokenInfo, from_plain


class RemoteTokens(TokenBackend):
    def __init__(self, session: Session) -> None:
        self.transport = transport_of(session)

    def create(self, user: str, role: str) -> tuple[str, TokenInfo]:
        found = self.transport.json("POST", "/tokens", json={"user": user, "role": role})
        return str(found["token"]), from_plain(TokenInfo, found["info"])

    def list(self) -> list[TokenInfo]:
        return [from_plain(TokenInfo, t) for t in self.transport.json("GET", "/tokens")]

    def revoke(self, token_id: str) -> None:
        self.transport.request("DELETE", f"/tokens/{seg(token_id)}")

    def verify(self, token: str) -> TokenInfo | None:
        found = self.transport.json("POST", "/tokens/verify", json={"token": token})
        return from_plain(TokenInfo, found["info"]) if found["info"] else None

    def any_active(self) -> bool:
        return bool(self.transport.json("GET", "/tokens/required")["required"])
