"""Token and Host checks, as a pure ASGI middleware (it also bounds the request body size).

Why a Host check: a web page on another site could make the browser send requests to 127.0.0.1
through a DNS name it controls (DNS rebinding); such requests carry that foreign name in Host.
Why a token: any local process or page could otherwise use the server. The token lives in the
config folder with mode 0600; the web page gets it once through ?token= and keeps it in a cookie.
"""
from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from adastyle.server.errors import BodyTooLarge

log = logging.getLogger(__name__)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
OPEN_PATHS = ("/v1/health", "/docs", "/openapi.json", "/docs/oauth2-redirect", "/redoc")
COOKIE = "adastyle_token"


def load_or_create_token(folder: Path) -> str:
    """The server token, created on first start (random, 0600)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "token"
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.chmod(path, 0o600)
    return token


def host_is_local(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host[: host.find("]") + 1] if "]" in host else host
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return name in LOCAL_HOSTS


async def _send_json(send, status: int, code: str, message: str, extra_headers: list | None = None) -> None:
    body = json.dumps({"error": code, "message": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """Host check (unless remote mode), bearer token (except open paths), body size limit."""

    def __init__(self, app, token: str, allow_remote: bool, max_body: int, ui_prefix: str = "/ui") -> None:
        self.app = app
        self.token = token
        self.allow_remote = allow_remote
        self.max_body = max_body
        self.ui_prefix = ui_prefix

    def _authorised(self, scope, headers: dict[bytes, bytes]) -> tuple[bool, bool]:
        """(ok, set_cookie) for this request."""
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip(), self.token):
            return True, False
        cookie = SimpleCookie()
        try:
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
        except Exception:
            pass
        if COOKIE in cookie and hmac.compare_digest(cookie[COOKIE].value, self.token):
            return True, False
        if scope["path"].startswith(self.ui_prefix):
            q = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
            if q and hmac.compare_digest(q, self.token):
                return True, True
        return False, False

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        if not self.allow_remote and not host_is_local(headers.get(b"host", b"").decode("latin-1")):
            if scope["type"] == "http":
                return await _send_json(send, 403, "forbidden_host",
                                        "requests must be addressed to 127.0.0.1, localhost or [::1]")
            return
        path = scope["path"]
        set_cookie = False
        if not (path in OPEN_PATHS and scope.get("method", "GET") == "GET"):
            ok, set_cookie = self._authorised(scope, headers)
            if not ok:
                if scope["type"] == "http":
                    return await _send_json(send, 401, "unauthorized",
                                            "missing or wrong token: send 'Authorization: Bearer <token>' "
                                            "(the token is in the AdaStyle config folder, file 'token')",
                                            [(b"www-authenticate", b"Bearer")])
                return
        if scope["type"] == "http":
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body:
                return await _send_json(send, 413, "body_too_large",
                                        f"request body of {int(length):,} bytes is over the limit of {self.max_body:,}")
            receive = self._limited(receive)
        if set_cookie:
            send = self._with_cookie(send)
        try:
            return await self.app(scope, receive, send)
        except BodyTooLarge:
            return await _send_json(send, 413, "body_too_large", f"request body is over the limit of {self.max_body:,} bytes")

    def _limited(self, receive):
        seen = 0

        async def wrapped():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
            return msg

        return wrapped

    def _with_cookie(self, send):
        value = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def wrapped(msg):
            if msg["type"] == "http.response.start":
                msg = dict(msg)
                msg["headers"] = list(msg.get("headers", [])) + [(b"set-cookie", value)]
            await send(msg)

        return wrapped
