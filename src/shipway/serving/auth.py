"""Who may call a model server: with no active token in the store, anyone who can reach it
(and ``shipway serve`` then binds to loopback only, unless ``--insecure``); once a token
exists, predictions, feedback and status need one, of any role (``predict`` is the least).
Health checks and ``/metrics`` stay open for probes and scrapers.

Tokens are checked against the store, and what the store said is kept for ``ttl`` seconds,
so the hot path does no database round trip; a revoked token stops working within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from shipway.errors import Unauthenticated


class ServingAuth:
    def __init__(self, tokens: Any, ttl: float = 2.0) -> None:
        self.tokens = tokens  # a TokenStore
        self.ttl = ttl
        self._lock = threading.Lock()
        self._required: tuple[float, bool] = (0.0, False)  # (checked at, any token active)
        self._verified: dict[str, tuple[float, str | None]] = {}  # token -> (checked at, user)

    def required(self) -> bool:
        """Whether the store has an active token (so every call needs one)."""
        checked, answer = self._required
        now = time.monotonic()
        if now - checked > self.ttl:
            answer = self.tokens.any_active()
            self._required = (now, answer)
        return answer

    def check(self, authorization: str | None) -> str | None:
        """The caller's user, from ``Authorization: Bearer <token>`` (None: no token needed)."""
        if not self.required():
            return None
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated(
                "this model server needs a token",
                hint="send Authorization: Bearer <token> (any role; `shipway tokens create "
                "--role predict` makes one for callers that only predict)",
            )
        now = time.monotonic()
        with self._lock:
            cached = self._verified.get(token)
        if cached is None or now - cached[0] > self.ttl:
            info = self.tokens.verify(token)
            cached = (now, info.user if info is not None else None)
            with self._lock:
                if len(self._verified) > 10_000:  # bounded: unknown tokens cannot fill memory
                    self._verified.clear()
                self._verified[token] = cached
        if cached[1] is None:
            raise Unauthenticated("the token is unknown, wrong or revoked")
        return cached[1]
