"""Host, Origin, Sec-Fetch-Site and credential checks, as a pure ASGI middleware (it also bounds the request body:
its size, how long it may stall, and the least rate at which it must arrive).

Why a Host check: a web page on another site could make the browser send requests to 127.0.0.1
through a DNS name it controls (DNS rebinding); such requests carry that foreign name in Host.
Why an Origin check: browsers send cookies to every port of 127.0.0.1 (cookies are not separated by
port), so a page served by any other local program is "same-site" with us. Every state-changing
request whose Origin is not this server's own is refused, and no response carries CORS headers, so
no other origin can read an answer either.
Why two credentials: the API token (config folder, mode 0600) opens everything and travels only in
the `Authorization: Bearer` header. The web page gets its own credential instead: random per server
start, kept in an HttpOnly cookie scoped to /ui, and it opens /ui only. `/ui/?token=<API token>` is
exchanged for it and redirected to a clean URL, so the token leaves the address bar and never sits in
a cookie another local server could receive.
Why Sec-Fetch-Site and frame denial: cookies ignore ports, so a page served by any other local program is
"same-site" and its browser requests carry the page credential. Browsers say where a request comes from
in Sec-Fetch-Site (and Origin); any request a browser makes for another site or port is refused, on
every route, and no answer may be shown in a frame (X-Frame-Options, frame-ancestors). What this cannot
stop: a local program that receives the cookie (a page on another port under /ui) and replays it from a
script; the credential then opens the page only, until this server restarts.
`adastyle web` (the page alone, no token) runs behind the same middleware with `token=None`: every check
but the credentials.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
import secrets
import time
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode

from adastyle.server.errors import BodyTimeout, BodyTooLarge

log = logging.getLogger(__name__)
OPEN_PATHS = ("/v1/health", "/docs", "/openapi.json")  # status and the API's description: no user data
OPEN_PREFIXES = ("/docs/assets/",)  # the API page's bundled Swagger UI files
SAFE_METHODS = ("GET", "HEAD")
PAGE_COOKIE = "adastyle_page"
FOREIGN_FETCH = (b"cross-site", b"same-site")  # Sec-Fetch-Site of a request another site or port made
FRAME_DENIAL = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]
TRUST_EXTENSION = "adastyle.trust"  # scope["extensions"][...]: called once a request proved its credential
# A local Host: the name, then an optional port; nothing else (no userinfo, no trailing junk).
_LOCAL_HOST = re.compile(r"(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?")
_ANY_HOST = re.compile(r"(?:[a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def host_is_local(host_header: str) -> bool:
    """True for exactly 127.0.0.1, localhost or [::1], with an optional numeric port."""
    return _LOCAL_HOST.fullmatch(host_header.strip().lower()) is not None


def host_is_wellformed(host_header: str) -> bool:
    return _ANY_HOST.fullmatch(host_header.strip().lower()) is not None


def origin_is_own(origin: str, host_header: str) -> bool:
    """An Origin names this server when it is http(s):// plus the Host the request was sent to."""
    host = host_header.strip().lower()
    return bool(host) and origin.strip().lower() in (f"http://{host}", f"https://{host}")


def _ascii(value: bytes | str) -> bytes:
    """Credentials compared as bytes: a non-ASCII one simply does not match (never a 500)."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")


def _same(a: bytes | str, b: bytes) -> bool:
    return hmac.compare_digest(_ascii(a), b)


async def send_json(send, status: int, code: str, message: str, extra_headers: list | None = None) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


PAGE_LOGIN = b"""<!doctype html><html><head><meta charset="utf-8"><title>AdaStyle</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>AdaStyle</h1><p>This page opens with the server's own link, which carries its token once.
Run <code>adastyle open</code> (or <code>adastyle open --print</code> for the link) on this computer.</p>
</body></html>"""


async def send_page_login(send) -> None:
    """A browser that opens /ui without the page credential gets a page that says how to open it (401), not JSON."""
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(PAGE_LOGIN)).encode()),
               (b"www-authenticate", b"Bearer"), (b"x-frame-options", b"DENY"),
               (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")]
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE_LOGIN})


def guarded_headers(headers: list) -> list:
    """A response's headers without CORS ones, and never to be shown in a frame of another page."""
    kept = [(k, v) for k, v in headers if not k.lower().startswith(b"access-control-")
            and k.lower() != b"x-frame-options"]
    for i, (k, v) in enumerate(kept):
        if k.lower() == b"content-security-policy":
            if b"frame-ancestors" not in v:
                kept[i] = (k, v + b"; frame-ancestors 'none'")
            return kept + FRAME_DENIAL[:1]
    return kept + FRAME_DENIAL


def host_of(scope) -> str:
    """The request's Host header ("" when it has none)."""
    return dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")


def host_allowed(host: str, allow_remote: bool) -> bool:
    """The Host check both listeners make: a local name only, unless the bind address is not local."""
    return host_is_wellformed(host) if allow_remote else host_is_local(host)


async def refuse_host(scope, send) -> None:
    """Answer a request whose Host failed the check (a WebSocket is simply not accepted)."""
    if scope["type"] == "http":
        await send_json(send, 403, "forbidden_host", "requests must be addressed to 127.0.0.1, localhost or [::1]")


class SecurityMiddleware:
    """Host check (unless remote mode), Origin and Sec-Fetch-Site checks, credentials (none when `token` is
    None: the page alone), frame denial, body size, stall and rate limits."""

    def __init__(self, app, token: str | None, allow_remote: bool, max_body: int, ui_prefix: str = "/ui",
                 body_timeout: float = 30.0, min_body_rate: float = 16384) -> None:
        self.app = app
        self.token = _ascii(token) if token is not None else None
        self.min_body_rate = min_body_rate
        self.page_secret = secrets.token_urlsafe(32).encode()  # new on every start, never the API token
        self.allow_remote = allow_remote
        self.max_body = max_body
        self.ui_prefix = ui_prefix
        self.body_timeout = body_timeout

    # ---- credentials ---------------------------------------------------------------------------
    def _bearer_ok(self, headers: dict[bytes, bytes]) -> bool:
        auth = headers.get(b"authorization", b"")
        return self.token is not None and auth[:7].lower() == b"bearer " and _same(auth[7:].strip(), self.token)

    def _page_cookie_ok(self, scope, headers: dict[bytes, bytes]) -> bool:
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except CookieError:
            return False
        morsel = cookie.get(self._cookie_name(scope))
        return morsel is not None and _same(morsel.value.encode("latin-1", "replace"), self.page_secret)

    def _in_ui(self, path: str) -> bool:
        return path == self.ui_prefix or path.startswith(self.ui_prefix + "/")

    def _token_exchange(self, scope) -> str | None:
        """For GET /ui...?token=<API token>: the clean URL to redirect to (None: no valid token given)."""
        if scope.get("method") not in SAFE_METHODS or not self._in_ui(scope["path"]):
            return None
        pairs = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        given = [v for k, v in pairs if k == "token"]
        if not given or self.token is None or not _same(given[0], self.token):
            return None
        rest = urlencode([(k, v) for k, v in pairs if k != "token"])
        path = quote(scope.get("root_path", "") + scope["path"])
        return path + (f"?{rest}" if rest else "")

    # ---- the middleware ------------------------------------------------------------------------
    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        http = scope["type"] == "http"
        headers = dict(scope.get("headers") or [])
        host = headers.get(b"host", b"").decode("latin-1")
        if not host_allowed(host, self.allow_remote):
            return await refuse_host(scope, send)
        method = scope.get("method", "GET")
        path = scope["path"]
        origin = headers.get(b"origin")
        foreign_origin = origin is not None and not origin_is_own(origin.decode("latin-1"), host)
        # Another site's (or local port's) page: refused for any change, and for anything of the page at all.
        if headers.get(b"sec-fetch-site", b"").lower() in FOREIGN_FETCH or (foreign_origin and (
                not http or method not in SAFE_METHODS or self.token is None or self._in_ui(path))):
            if http:
                return await send_json(send, 403, "forbidden_origin",
                                       "requests from another web origin are refused; use this server's own "
                                       "page or send the token from a program")
            return
        if self.token is not None and not (
                (path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)) and method in SAFE_METHODS):
            ok = self._bearer_ok(headers) or (self._in_ui(path) and self._page_cookie_ok(scope, headers))
            if ok:
                trust = (scope.get("extensions") or {}).get(TRUST_EXTENSION)
                if trust is not None:
                    trust()  # the connection counts as one of a client with the credential (guarded_http)
            else:
                clean = self._token_exchange(scope)
                if clean is not None and http:
                    return await self._redirect_with_page_cookie(scope, send, clean)
                if http and self._in_ui(path) and method == "GET" and b"text/html" in headers.get(b"accept", b""):
                    return await send_page_login(send)
                if http:
                    return await send_json(send, 401, "unauthorized",
                                           "missing or wrong token: send 'Authorization: Bearer <token>' "
                                           "(the token is in the AdaStyle config folder, file 'token')",
                                           [(b"www-authenticate", b"Bearer")])
                return
        if not http:
            return await self.app(scope, receive, send)
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return await send_json(send, 413, "body_too_large",
                                   f"request body of {int(length):,} bytes is over the limit of {self.max_body:,}")
        started = False

        async def guarded_send(msg):
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
                msg = {**msg, "headers": guarded_headers(msg.get("headers", []))}
            await send(msg)

        try:
            return await self.app(scope, self._limited(receive), guarded_send)
        except BodyTooLarge:
            if not started:
                await send_json(send, 413, "body_too_large", f"request body is over the limit of {self.max_body:,} bytes")
        except BodyTimeout:
            if not started:
                await send_json(send, 408, "body_timeout",
                                f"the request body stalled (over {self.body_timeout:g} s) or came slower than "
                                f"{self.min_body_rate:,.0f} bytes/s", [(b"connection", b"close")])

    def _cookie_name(self, scope) -> str:
        """One cookie name per port: two AdaStyle servers on one machine do not overwrite each other's."""
        server = scope.get("server") or (None, None)
        return PAGE_COOKIE if server[1] is None else f"{PAGE_COOKIE}_{server[1]}"

    async def _redirect_with_page_cookie(self, scope, send, location: str) -> None:
        cookie = (f"{self._cookie_name(scope)}={self.page_secret.decode()}; Path={self.ui_prefix}; HttpOnly; SameSite=Strict")
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store"), (b"referrer-policy", b"no-referrer"),
                                (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    def _limited(self, receive):
        """The receive channel with the body size limit, a stall limit, and a least rate: by any moment the
        body must have come at min_body_rate bytes/s after its first body_timeout seconds. Why a rate: a
        per-chunk limit alone lets a client hold its connection for ever with a byte every few seconds."""
        seen = 0
        body_done = False
        started = time.monotonic()

        async def wrapped():
            nonlocal seen, body_done
            if body_done:
                return await receive()  # afterwards only a disconnect can come: wait as long as it takes
            deadline = started + self.body_timeout + seen / self.min_body_rate
            wait = min(self.body_timeout, deadline - time.monotonic())
            try:
                if wait <= 0:
                    raise asyncio.TimeoutError
                msg = await asyncio.wait_for(receive(), wait)
            except asyncio.TimeoutError:
                raise BodyTimeout() from None
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
                body_done = not msg.get("more_body", False)
            return msg

        return wrapped
