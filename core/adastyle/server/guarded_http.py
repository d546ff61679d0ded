"""uvicorn's HTTP/1.1 protocol with a header deadline and a connection cap.

Why: uvicorn closes a kept-alive connection that stays silent, but a connection that never sends a
request, or sends its headers a byte at a time, is held forever; a few hundred of those exhaust the
server. Here a connection must finish its request headers within `header_timeout` seconds (a setting) of opening
(or of its previous response), and connections past the cap are closed at once. A stalled request
body is bounded separately, in the ASGI layer (security.SecurityMiddleware).
"""
from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol

from adastyle.settings import Settings


class GuardedH11Protocol(H11Protocol):
    header_timeout: float = Settings.header_timeout  # run.serve subclasses it with the server's setting

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        if self.limit_concurrency is not None and len(self.connections) > self.limit_concurrency:
            transport.close()
            return
        self._arm_header_timer()

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
