"""uvicorn's HTTP/1.1 protocol with a header deadline and a fair connection cap.

Why: uvicorn closes a kept-alive connection that stays silent, but a connection that never sends a
request, or sends its headers a byte at a time, is held forever; a few hundred of those exhaust the
server. Here a connection must finish its request headers within `header_timeout` seconds (a setting) of opening
(or of its previous response), and the number of connections is capped. Why fair: a cap that closes
the newest connection lets anyone on the machine fill it with idle sockets and lock every client out.
So at the cap the *oldest idle* connection is closed to make room (idle: no request in progress), and
connections that have not yet shown the server's credential may fill at most the cap less a reserve:
a client with the token always finds room. A stalled or trickling request body is bounded separately,
in the ASGI layer (security.SecurityMiddleware: a stall limit and a least rate).
"""
from __future__ import annotations

import asyncio
import time

from uvicorn.protocols.http.h11_impl import H11Protocol

from adastyle.server.security import TRUST_EXTENSION
from adastyle.settings import Settings


class GuardedH11Protocol(H11Protocol):
    # run.serve_asgi subclasses it with the server's settings
    header_timeout: float = Settings.header_timeout
    max_connections: int | None = Settings.max_connections
    reserved: int = 0  # of max_connections, kept for connections that showed the credential

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self.opened = time.monotonic()
        self.trusted = False
        if not self._make_room():
            transport.close()
            return
        self._arm_header_timer()

    # ---- the cap -----------------------------------------------------------------------------------
    def is_idle(self) -> bool:
        return (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing()

    def _make_room(self) -> bool:
        """Close the oldest idle connections this one pushes over a limit; False: none can go (refuse this one)."""
        if self.max_connections is None:
            return True
        open_ = [c for c in self.connections if c is not self and not c.transport.is_closing()]
        untrusted = [c for c in open_ if not getattr(c, "trusted", True)]
        if self.reserved and len(untrusted) + 1 > self.max_connections - self.reserved:
            if not self._close_oldest_idle(untrusted):
                return False
            open_ = [c for c in open_ if not c.transport.is_closing()]
        if len(open_) + 1 > self.max_connections:
            untrusted_first = sorted(open_, key=lambda c: getattr(c, "trusted", True))
            return self._close_oldest_idle(untrusted_first)
        return True

    @staticmethod
    def _close_oldest_idle(candidates: list) -> bool:
        idle = [c for c in candidates if isinstance(c, GuardedH11Protocol) and c.is_idle()]
        if not idle:
            return False
        min(idle, key=lambda c: (c.trusted, c.opened)).transport.close()
        return True

    def _trust(self) -> None:
        self.trusted = True

    def handle_events(self) -> None:
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and TRUST_EXTENSION not in cycle.scope.get("extensions", {}):
            # The request's task has not started yet: the security layer finds the hook in its scope.
            cycle.scope.setdefault("extensions", {})[TRUST_EXTENSION] = self._trust  # type: ignore[typeddict-item]

    # ---- the header deadline ---------------------------------------------------------------------
    def _arm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _headers_too_slow(self) -> None:
        """No request is in progress since the timer was set: the peer is idle or trickling headers."""
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)
