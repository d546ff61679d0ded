"""The server's defences over real HTTP on 127.0.0.1: credentials, Origin, Host, timeouts, connection cap."""
from __future__ import annotations

import io
import socket
import threading
import time

import httpx
import pytest
from PIL import Image
from server_fixture import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("sec-home"), "--header-timeout", "2", "--body-timeout", "2",
                       "--max-connections", "12")
    yield srv
    srv.stop()


def style_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 90)).save(buf, format="PNG")
    return buf.getvalue()


# ---- the API token never becomes a cookie ----------------------------------------------------------
def test_token_in_url_is_exchanged_for_a_page_credential(server) -> None:
    r = httpx.get(f"{server.url}/ui/?token={server.token}&__theme=dark")
    assert r.status_code == 303
    assert r.headers["location"] == "/ui/?__theme=dark"  # a clean URL: the token leaves the address bar
    cookie = r.headers["set-cookie"]
    assert server.token not in cookie
    assert "Path=/ui;" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    name, value = cookie.split(";")[0].split("=", 1)
    jar = {name: value}
    assert httpx.get(f"{server.url}/ui/", cookies=jar).status_code == 200
    # The page credential opens /ui only: /v1 wants the Bearer header.
    for method, path in (("GET", "/v1/jobs/x"), ("POST", "/v1/styles")):
        r = httpx.request(method, server.url + path, cookies=jar, files={"style": ("s.png", style_png())})
        assert r.status_code == 401, (method, path, r.status_code)
    # The API token itself in a cookie opens nothing.
    assert httpx.get(f"{server.url}/ui/", cookies={"adastyle_token": server.token}).status_code == 401
    assert httpx.get(f"{server.url}/v1/jobs/x", cookies={"adastyle_token": server.token}).status_code == 401


def test_a_browser_without_the_page_credential_is_told_how_to_open_the_page(server) -> None:
    r = httpx.get(f"{server.url}/ui/", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "adastyle open" in r.text and server.token not in r.text
    # a program (no HTML wanted) still gets the API's JSON error
    assert httpx.get(f"{server.url}/ui/").json()["error"] == "unauthorized"


def test_page_credential_is_random_per_start() -> None:
    from adastyle.server.security import SecurityMiddleware

    one, two = (SecurityMiddleware(None, "api-token", False, 1) for _ in range(2))
    assert one.page_secret != two.page_secret and b"api-token" not in (one.page_secret, two.page_secret)


# ---- Origin ----------------------------------------------------------------------------------------
def test_foreign_origin_cannot_change_state(server) -> None:
    own = f"http://127.0.0.1:{server.port}"
    for origin in ("http://127.0.0.1:1", "http://localhost:9999", "null", "https://evil.example"):
        r = httpx.post(server.url + "/v1/styles", headers={**server.auth, "Origin": origin},
                       files={"style": ("s.png", style_png())})
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin", origin
        r = httpx.options(server.url + "/ui/gradio_api/upload",
                          headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = httpx.post(server.url + "/v1/styles", headers={**server.auth, "Origin": own},
                   files={"style": ("s.png", style_png())})
    assert r.status_code == 200, r.text


def test_no_cors_headers_for_other_origins(server) -> None:
    cookie = httpx.get(f"{server.url}/ui/?token={server.token}").headers["set-cookie"].split(";")[0]
    name, value = cookie.split("=", 1)
    for path in ("/ui/config", "/ui/", "/v1/health"):
        r = httpx.get(server.url + path, headers={"Origin": "http://127.0.0.1:1"}, cookies={name: value})
        assert "access-control-allow-origin" not in r.headers, path
        assert "access-control-allow-credentials" not in r.headers, path


# ---- credentials that are not ASCII ----------------------------------------------------------------
@pytest.mark.parametrize("where", ["header", "cookie", "query", "query_raw"])
def test_non_ascii_credentials_get_401(server, where) -> None:
    headers, path = {}, "/v1/jobs/x"
    if where == "header":
        headers = {"Authorization": "Bearer tökén".encode("latin-1")}
    elif where == "cookie":
        headers, path = {"Cookie": f"adastyle_page_{server.port}=tökén".encode("latin-1")}, "/ui/"
    elif where == "query":
        path = "/ui/?token=%C3%B6%FF%FE"
    else:
        path = "/ui/?token=t\xf6k"
    r = httpx.get(server.url + path, headers=headers)
    assert r.status_code == 401, (where, r.status_code, r.text[:200])
    assert server.alive()
    assert "Traceback" not in (server.home / "test-server.log").read_text(errors="replace")


# ---- Host ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["[::1]evil", "[::1]evil:80", "localhost.evil.com", "localhost@evil", "127.0.0.1:80:80",
                                  "127.0.0.1:x", "localhost:", " 127.0.0.1 x", "127.0.0.1.nip.io", "[::1"])
def test_malformed_local_hosts_are_refused(server, host) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"GET /v1/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 403") or answer.startswith(b"HTTP/1.1 400"), (host, answer)


def test_listens_on_ipv6_loopback_too(server) -> None:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    r = httpx.get(f"http://[::1]:{server.port}/v1/health", timeout=10)
    assert r.status_code == 200


# ---- slow and idle connections ---------------------------------------------------------------------
def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
            if b"408" in data.split(b"\r\n")[0]:
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


def test_idle_slow_header_and_slow_body_connections_are_closed(server) -> None:
    idle = socket.create_connection(("127.0.0.1", server.port))
    slow_header = socket.create_connection(("127.0.0.1", server.port))
    slow_header.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finishes the headers
    slow_body = socket.create_connection(("127.0.0.1", server.port))
    slow_body.sendall(f"POST /v1/styles HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
                      "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000\r\n\r\n--x".encode())
    t0 = time.time()
    try:
        for sock in (idle, slow_header, slow_body):
            assert closed_within(sock, 15), "a connection was held open"
        assert time.time() - t0 < 15
        assert server.alive()
    finally:
        for sock in (idle, slow_header, slow_body):
            sock.close()


def test_at_the_cap_the_oldest_idle_connection_goes(server) -> None:
    """A cap that closed the newest connection let idle sockets lock everyone out; the oldest idle one goes."""
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(12)]
    try:
        time.sleep(0.2)
        r = httpx.get(server.url + "/v1/health", timeout=5)  # a new connection past the cap is served
        assert r.status_code == 200
        assert closed_within(held[0], 1.5), "the oldest idle connection was kept"
    finally:
        for sock in held:
            sock.close()
    time.sleep(0.3)
    assert server.alive()


def test_idle_sockets_without_the_token_cannot_lock_out_clients_with_it(server) -> None:
    """Sockets that never show the token may fill the cap less a reserve; a client with the token gets in
    even while they keep reconnecting."""
    stop = False
    socks: list[socket.socket] = []

    def flood() -> None:
        while not stop:
            try:
                socks.append(socket.create_connection(("127.0.0.1", server.port)))
            except OSError:
                pass
            time.sleep(0.01)

    threading.Thread(target=flood, daemon=True).start()
    try:
        time.sleep(0.5)
        answers = []
        for _ in range(12):
            try:
                with httpx.Client(timeout=5) as client:
                    answers.append(client.get(server.url + "/v1/jobs/x", headers=server.auth).status_code)
            except httpx.HTTPError as exc:
                answers.append(type(exc).__name__)
        assert answers == [404] * 12, answers
    finally:
        stop = True
        time.sleep(0.1)
        for sock in socks:
            sock.close()


def test_a_trickling_body_is_cut_by_the_least_rate(server) -> None:
    """One byte every half second never stalls for the body timeout (2 s here), but it is far below the rate."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(f"POST /v1/styles HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {server.token}\r\n"
                 "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n"
                 "--x\r\nContent-Disposition: form-data; name=\"style\"; filename=\"s.png\"\r\n\r\n".encode())
    sock.settimeout(0.5)
    t0 = time.time()
    answer = b""
    try:
        while time.time() - t0 < 10:
            try:
                sock.sendall(b"a")
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
                break
            except (socket.timeout, TimeoutError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
    finally:
        sock.close()
    assert time.time() - t0 < 8, "the trickling body was still being read after 8 s"
    assert not answer or b" 408 " in answer.split(b"\r\n")[0], answer[:80]


# ---- the page's credential is bound to this server ----------------------------------------------------
def page_cookie(server) -> dict[str, str]:
    r = httpx.get(f"{server.url}/ui/?token={server.token}")
    name, value = r.headers["set-cookie"].split(";")[0].split("=", 1)
    return {name: value}


@pytest.mark.parametrize("headers", [{"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Origin": "http://127.0.0.1:1"}])
def test_page_routes_refuse_requests_another_page_makes(server, headers) -> None:
    jar = page_cookie(server)
    for path in ("/ui/", "/ui/config", "/ui/gradio_api/info"):
        r = httpx.get(server.url + path, cookies=jar, headers=headers)
        assert r.status_code == 403 and r.json()["error"] == "forbidden_origin", (path, r.status_code)
    own = {"Sec-Fetch-Site": "same-origin", "Origin": f"http://127.0.0.1:{server.port}"}
    assert httpx.get(server.url + "/ui/config", cookies=jar, headers=own).status_code == 200


def test_the_page_cannot_be_framed(server) -> None:
    r = httpx.get(server.url + "/ui/", cookies=page_cookie(server))
    assert r.status_code == 200
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


# ---- the page's uploads ----------------------------------------------------------------------------
def test_page_uploads_take_images_only(server) -> None:
    url = server.url + "/ui/gradio_api/upload"
    r = httpx.post(url, headers=server.auth, files={"files": ("notes.txt", b"just some text, not a picture")})
    assert r.status_code == 415 and r.text.startswith("upload refused: only PNG, JPEG")
    r = httpx.post(url, headers=server.auth, files={"files": ("x.ico", b"\x00\x00\x01\x00" + b"\x00" * 64)})
    assert r.status_code == 415
    r = httpx.post(url, headers=server.auth, files={"files": ("s.png", style_png())})
    assert r.status_code == 200, r.text
    stored = r.json()[0]
    assert "adastyle-web-" in stored  # in the server's own temporary folder, not a shared /tmp/gradio
    assert server.alive()


def test_upload_guard_size_limit() -> None:
    import asyncio

    from adastyle.web.upload_guard import UploadGuard

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def run(payload: bytes) -> int:
        body = (b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a.png\"\r\n\r\n" + payload
                + b"\r\n--b--\r\n")
        chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)]
        sent = []

        async def receive():
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks[1:])} if chunks \
                else {"type": "http.disconnect"}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "method": "POST", "path": "/ui/gradio_api/upload",
                 "headers": [(b"content-type", b"multipart/form-data; boundary=b")]}
        asyncio.run(UploadGuard(app, max_file=5000)(scope, receive, send))
        starts = [m["status"] for m in sent if m["type"] == "http.response.start"]
        assert len(starts) == 1, starts  # the app's own answer after a refusal is dropped
        return starts[0]

    real = style_png()
    assert run(real + b"\x00" * (4000 - len(real))) == 200
    assert run(real + b"\x00" * 6000) == 413
    # Starting like an image is not enough: the header must read as one of the six formats.
    assert run(b"BM" + b"<html><script>alert(1)</script></html>" * 20) == 415
    assert run(b"GIF89a" + b"<html></html>" * 50) == 415
