"""Run the app on uvicorn without its idle wake-ups.

uvicorn's main loop wakes ten times a second, to refresh the ``Date`` header and to check
for shutdown, so an idle server burns CPU for nothing. Here the ``Date`` header is made when
a request reads it (at most once a second), and the main loop sleeps until a shutdown signal
wakes it, checking in only every ``SAFETY_TICK`` seconds.
"""

from __future__ import annotations

import asyncio
import socket
import time
from email.utils import formatdate
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.server import ServerState

SAFETY_TICK = 10.0


class LazyDateState(ServerState):
    """``default_headers`` with a ``Date`` that is current whenever a request reads it."""

    def __init__(self) -> None:
        self._with_date, self._second = False, -1
        self._others: list[tuple[bytes, bytes]] = []
        self._cached: list[tuple[bytes, bytes]] = []
        super().__init__()

    @property
    def default_headers(self) -> list[tuple[bytes, bytes]]:
        if not self._with_date:
            return self._others
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._cached = [(b"date", formatdate(now, usegmt=True).encode()), *self._others]
        return self._cached

    @default_headers.setter
    def default_headers(self, headers: list[tuple[bytes, bytes]]) -> None:
        self._with_date = any(name == b"date" for name, _ in headers)
        self._others = [(n, v) for n, v in headers if n != b"date"]
        self._second = -1


class QuietServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.server_state = LazyDateState()
        self._wake: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._loop = loop = asyncio.get_running_loop()
        while not await self.on_tick(0):  # counter 0: on_tick sets the headers, checks for exit
            self._wake = wake = loop.create_future()
            timer = loop.call_later(SAFETY_TICK, _resolve, wake)
            await wake
            timer.cancel()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self.wake()

    def wake(self) -> None:
        """Make the main loop look at ``should_exit`` now (safe from any thread)."""
        if self._loop is not None and not self._loop.is_closed():
            # Resolve whichever future the loop awaits when the callback runs, not the one
            # current now: the loop may be between two waits.
            self._loop.call_soon_threadsafe(self._resolve_current)

    def _resolve_current(self) -> None:
        if self._wake is not None:
            _resolve(self._wake)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def check_listen(host: str, port: int) -> None:
    """Refuse, before anything says "serving", an address this process cannot listen on
    (in use, not this machine's, not allowed)."""

    from shipway.errors import InvalidArgument

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise InvalidArgument(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another --port (or stop what listens there), or another --host",
        ) from None


def serve(app: str, *, host: str, port: int, workers: int, **options: Any) -> None:
    """``uvicorn.run``, with the quiet main loop when there is one worker."""
    if workers > 1:  # uvicorn's supervisor builds its own workers
        uvicorn.run(app, host=host, port=port, workers=workers, **options)
        return
    config = uvicorn.Config(app, host=host, port=port, **options)
    QuietServer(config).run()
