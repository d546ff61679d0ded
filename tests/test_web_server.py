"""`adastyle web` alone is the same guarded server as `adastyle serve`, over real HTTP: Host, Origin and
Sec-Fetch-Site checks, no CORS, header deadline, a fair connection cap, a real header check of uploads,
and a clean stop (exit 0, its temporary folder gone; folders of a killed one removed at the next start)."""
from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from server_fixture import free_port
from test_server_security import closed_within

pytest.importorskip("gradio")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    orphan = Path(tempfile.mkdtemp(prefix="adastyle-web-4194000-"))  # a killed page's folder (no such pid)
    (orphan / "uploads").mkdir()
    home = tmp_path_factory.mktemp("web-home")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "adastyle.cli", "web", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ADASTYLE_HOME": str(home)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while time.time() < deadline:
        assert proc.poll() is None, "adastyle web exited"
        try:
            if httpx.get(url + "/config", timeout=10).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    yield url, port, proc, orphan
    if proc.poll() is None:
        proc.kill()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:1"},
                                     {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"}])
def test_other_pages_are_refused_and_get_no_cors(web, headers) -> None:
    url = web[0]
    for method, path in (("GET", "/config"), ("POST", "/gradio_api/upload")):
        r = httpx.request(method, url + path, headers=headers, files={"files": ("a.png", png())} if method == "POST"
                          else None)
        assert r.status_code == 403, (method, path, r.status_code)
        assert not any(k.lower().startswith("access-control-") for k in r.headers), r.headers
    r = httpx.get(url + "/config", headers={"Origin": url, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and not any(k.lower().startswith("access-control-") for k in r.headers)
    assert r.headers["x-frame-options"] == "DENY"


def test_uploads_must_read_as_images(web) -> None:
    url = web[0] + "/gradio_api/upload"
    for fake in (b"BM" + b"<html><script>alert(1)</script></html>" * 10, b"GIF89a<html></html>"):
        r = httpx.post(url, files={"files": ("x.bmp", fake)})
        assert r.status_code == 415, (fake[:8], r.status_code, r.text)
    assert httpx.post(url, files={"files": ("a.png", png())}).status_code == 200


def test_idle_connections_are_closed_and_the_cap_is_fair(web) -> None:
    url, port = web[0], web[1]
    idle = socket.create_connection(("127.0.0.1", port))
    try:
        assert closed_within(idle, 15), "an idle connection was held open"  # the default header timeout is 10 s
    finally:
        idle.close()
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]  # the default cap is 64
    try:
        time.sleep(0.2)
        assert httpx.get(url + "/config", timeout=10).status_code == 200
        assert sum(closed_within(sock, 0.05) for sock in held) >= 80 - 64, "no connection was closed at the cap"
    finally:
        for sock in held:
            sock.close()


def test_sigterm_stops_cleanly_and_folders_of_killed_pages_are_removed(web) -> None:
    url, port, proc, orphan = web
    assert not orphan.exists(), "the folder of a page killed earlier was left"
    mine = [p for p in Path(tempfile.gettempdir()).glob(f"adastyle-web-{proc.pid}-*")]
    assert len(mine) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    assert not mine[0].exists(), "its temporary folder was left"
