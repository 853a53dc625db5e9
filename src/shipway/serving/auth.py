"""Who may call a model server: with no active token in the store, anyone who can reach it
(and ``shipway serve`` then binds to loopback only, unless ``--insecure``); once a token
exists, predictions, feedback and status need one, of any role (``predict`` is the least).
Health checks and ``/metrics`` stay open for probes and scrapers. Who called is kept with
each request (``CALLER``), so a label is accepted only from the caller that made its request
or from a role made for labelling (see :mod:`shipway.serving.labelling`).

Tokens are checked against the store, and what the store said is kept for ``ttl`` seconds,
so the hot path does no database round trip; a revoked token stops working within ``ttl``.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from typing import Any

from shipway.errors import Unauthenticated
from shipway.serving.labelling import ANYONE, Labeller
from shipway.store.token_store import role_allows

# Who the request being answered came from (ANYONE where no token is needed).
CALLER: ContextVar[Labeller] = ContextVar("shipway_caller", default=ANYONE)


class ServingAuth:
    def __init__(self, tokens: Any, ttl: float = 2.0) -> None:
        self.tokens = tokens  # a TokenStore
        self.ttl = ttl
        self._lock = threading.Lock()
        self._required: tuple[float, bool] = (0.0, False)  # (checked at, any token active)
        # token -> (checked at, who: None for a token the store does not know)
        self._verified: dict[str, tuple[float, Labeller | None]] = {}

    def required(self) -> bool:
        """Whether the store has an active token (so every call needs one)."""
        checked, answer = self._required
        now = time.monotonic()
        if now - checked > self.ttl:
            answer = self.tokens.any_active()
            self._required = (now, answer)
        return answer

    def check(self, authorization: str | None) -> Labeller:
        """Who calls, from ``Authorization: Bearer <token>`` (ANYONE: no token is needed)."""
        if not self.required():
            return ANYONE
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
            who = None if info is None else Labeller(info.user, role_allows(info.role, "labeller"))
            cached = (now, who)
            with self._lock:
                if len(self._verified) > 10_000:  # bounded: unknown tokens cannot fill memory
                    self._verified.clear()
                self._verified[token] = cached
        if cached[1] is None:
            raise Unauthenticated("the token is unknown, wrong or revoked")
        return cached[1]
