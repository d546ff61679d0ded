"""The server over real HTTP on 127.0.0.1: auth, host check, round trips, jobs, limits, robustness."""
from __future__ import annotations

import io
import struct
import time
import zlib

import httpx
import pytest
from conftest import EXAMPLES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from server_fixture import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("adastyle-home"), "--max-queue", "3")
    yield srv
    srv.stop()


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def content_png() -> bytes:
    return png_bytes(Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((160, 120)))


@pytest.fixture(scope="module")
def style_jpg() -> bytes:
    return (EXAMPLES / "style-castle.jpg").read_bytes()


def post(server: RunningServer, path: str, files: list, data: dict | None = None, **kw) -> httpx.Response:
    return httpx.post(server.url + path, files=files, data=data or {}, headers=kw.pop("headers", server.auth),
                      timeout=kw.pop("timeout", 120), **kw)


def wait_state(server: RunningServer, job_id: str, states: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=10).json()
        if info["state"] in states:
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}")


# ---- security --------------------------------------------------------------------------------------
def test_token_file_is_private(server) -> None:
    assert (server.home / "token").stat().st_mode & 0o077 == 0


def test_token_is_required(server, content_png, style_jpg) -> None:
    files = [("content", ("c.png", content_png)), ("style", ("s.jpg", style_jpg))]
    r = post(server, "/v1/stylize", files, headers={})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = post(server, "/v1/stylize", files, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    assert httpx.get(server.url + "/v1/health").status_code == 200  # health needs no token


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:80", "192.168.1.5:8765"])
def test_foreign_host_is_refused_everywhere(server, host: str) -> None:
    for path in ("/v1/health", "/v1/jobs/x", "/docs"):
        r = httpx.get(server.url + path, headers={**server.auth, "Host": host})
        assert r.status_code == 403, path
        assert r.json()["error"] == "forbidden_host"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]"])
def test_local_host_names_are_accepted(server, host: str) -> None:
    r = httpx.get(server.url + "/v1/health", headers={"Host": f"{host}:{server.port}"})
    assert r.status_code == 200


def test_health_and_docs(server) -> None:
    info = httpx.get(server.url + "/v1/health").json()
    assert info["status"] == "ok" and info["device"] == "cpu" and "version" in info and info["queue"] >= 0
    assert httpx.get(server.url + "/docs").status_code == 200
    schema = httpx.get(server.url + "/openapi.json").json()
    assert "/v1/stylize" in schema["paths"] and "/v1/jobs/{job_id}" in schema["paths"]


# ---- round trips -----------------------------------------------------------------------------------
def test_stylize_round_trip_png(server, content_png, style_jpg) -> None:
    r = post(server, "/v1/stylize", [("content", ("c.png", content_png)), ("style", ("s.jpg", style_jpg))],
             {"alpha": "0.9", "preserve_color": "histogram"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = Image.open(io.BytesIO(r.content))
    assert out.size == (160, 120)


def test_raw_rgba_round_trip(server, style_jpg) -> None:
    im = Image.open(EXAMPLES / "content-rocket.jpg").convert("RGBA").resize((96, 64))
    alpha = Image.linear_gradient("L").resize((96, 64))
    im.putalpha(alpha)
    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (0, 0, 48, 64))
    r = post(server, "/v1/stylize",
             [("content", ("c.rgba", im.tobytes())), ("style", ("s.jpg", style_jpg)),
              ("mask", ("m.gray", mask.tobytes()))],
             {"content_format": "rgba", "width": "96", "height": "64", "mask_format": "gray",
              "result_format": "rgba"})
    assert r.status_code == 200, r.text
    assert (r.headers["x-width"], r.headers["x-height"]) == ("96", "64")
    assert len(r.content) == 96 * 64 * 4
    out = Image.frombytes("RGBA", (96, 64), r.content)
    assert out.getchannel("A").tobytes() == alpha.tobytes()
    # right half (mask black) keeps the original pixels exactly
    assert out.crop((48, 0, 96, 64)).convert("RGB").tobytes() == im.crop((48, 0, 96, 64)).convert("RGB").tobytes()


def test_uploaded_style_id_and_two_styles_with_weights(server, content_png, style_jpg) -> None:
    r = post(server, "/v1/styles", [("style", ("s.jpg", style_jpg))])
    assert r.status_code == 200
    sid = r.json()["id"]
    other = (EXAMPLES / "style-goldfish.jpg").read_bytes()
    r = post(server, "/v1/stylize", [("content", ("c.png", content_png)), ("style", ("g.jpg", other))],
             {"style_id": sid, "weights": "0.3,0.7"})
    assert r.status_code == 200, r.text
    r = post(server, "/v1/stylize", [("content", ("c.png", content_png))], {"style_id": "nope"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_style"


def test_job_progress_goes_from_zero_to_one(server, style_jpg) -> None:
    big = png_bytes(Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((768, 768)))
    r = post(server, "/v1/jobs", [("content", ("c.png", big)), ("style", ("s.jpg", style_jpg))], {"tile": "256"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] in ("queued", "running") and job["progress"] == 0
    seen = []
    deadline = time.time() + 180
    while time.time() < deadline:
        info = httpx.get(f"{server.url}/v1/jobs/{job['id']}", headers=server.auth).json()
        seen.append(info["progress"])
        if info["state"] == "done":
            break
        time.sleep(0.05)
    assert info["state"] == "done" and info["progress"] == 1.0
    assert any(0 < p < 1 for p in seen), seen
    assert seen == sorted(seen)
    res = httpx.get(f"{server.url}/v1/jobs/{job['id']}/result", headers=server.auth)
    assert Image.open(io.BytesIO(res.content)).size == (768, 768)


def test_cancel_a_running_job_stops_it_early(server, style_jpg) -> None:
    big = png_bytes(Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((1536, 1536)))
    r = post(server, "/v1/jobs", [("content", ("c.png", big)), ("style", ("s.jpg", style_jpg))], {"tile": "256"})
    job_id = r.json()["id"]
    wait_state(server, job_id, ("running",))
    t0 = time.time()
    r = httpx.delete(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=60)
    assert r.status_code == 200
    info = wait_state(server, job_id, ("cancelled", "done", "failed"))
    assert info["state"] == "cancelled" and info["progress"] < 1
    assert time.time() - t0 < 20
    assert httpx.get(f"{server.url}/v1/jobs/{job_id}/result", headers=server.auth).status_code == 409


def test_full_queue_answers_503_with_retry_after(server, style_jpg) -> None:
    big = png_bytes(Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((1024, 1024)))
    files = [("content", ("c.png", big)), ("style", ("s.jpg", style_jpg))]
    ids, refused = [], None
    for _ in range(6):  # one runs, max-queue=3 wait, the rest are refused
        r = post(server, "/v1/jobs", files, {"tile": "256"})
        if r.status_code == 503:
            refused = r
            break
        ids.append(r.json()["id"])
    assert refused is not None
    assert refused.json()["error"] == "queue_full" and int(refused.headers["retry-after"]) > 0
    for job_id in ids:
        httpx.delete(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=60)
    assert server.alive()


# ---- bad input -------------------------------------------------------------------------------------
def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size (a decompression bomb's first bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("case,status,code", [
    ("garbage", 400, "invalid_image"),
    ("truncated", 400, "invalid_image"),
    ("huge_header", 413, "image_too_large"),
    ("wrong_mask", 422, "mask_mismatch"),
    ("black_mask", 422, "invalid_mask"),
    ("bad_alpha", 422, "invalid_parameter"),
    ("nan_alpha", 422, "invalid_parameter"),
    ("bad_weights", 422, "invalid_parameter"),
    ("weights_count", 422, "invalid_parameter"),
    ("bad_color", 422, "invalid_parameter"),
    ("no_style", 422, "missing_field"),
    ("no_content", 422, "missing_field"),
    ("raw_size", 400, "invalid_image"),
])
def test_bad_requests_get_4xx_and_server_survives(server, content_png, style_jpg, case, status, code) -> None:
    content = ("c.png", content_png)
    style = ("s.jpg", style_jpg)
    files, data = [("content", content), ("style", style)], {}
    if case == "garbage":
        files = [("content", ("c.png", b"definitely not a png")), ("style", style)]
    elif case == "truncated":
        files = [("content", ("c.png", content_png[: len(content_png) // 2])), ("style", style)]
    elif case == "huge_header":
        files = [("content", ("c.png", png_header_only(20000, 20000))), ("style", style)]
    elif case == "wrong_mask":
        files.append(("mask", ("m.png", png_bytes(Image.new("L", (50, 50), 255)))))
    elif case == "black_mask":  # refused when the request is made, before it is queued
        files.append(("mask", ("m.png", png_bytes(Image.new("L", (160, 120), 0)))))
    elif case == "bad_alpha":
        data = {"alpha": "2"}
    elif case == "nan_alpha":
        data = {"alpha": "nan"}
    elif case == "bad_weights":
        data = {"weights": "a,b"}
    elif case == "weights_count":
        data = {"weights": "0.2,0.3,0.5"}
    elif case == "bad_color":
        data = {"preserve_color": "sepia"}
    elif case == "no_style":
        files = [("content", content)]
    elif case == "no_content":
        files = [("style", style)]
    elif case == "raw_size":
        data = {"content_format": "rgba", "width": "10", "height": "10"}
    r = post(server, "/v1/stylize", files, data)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == code and body["message"]
    assert server.alive()


def test_body_limit_gives_413(tmp_path, style_jpg) -> None:
    from adastyle.settings import Settings

    srv = start_server(tmp_path / "home-small")
    try:
        big = b"\x00" * (300 << 20)  # over the default 256 MiB
        assert len(big) > Settings().max_body
        r = httpx.post(srv.url + "/v1/stylize", headers={**srv.auth, "Content-Type": "multipart/form-data; boundary=x"},
                       content=big, timeout=120)
        assert r.status_code == 413 and r.json()["error"] == "body_too_large"
        assert srv.alive()
    finally:
        srv.stop()


# ---- fuzz ------------------------------------------------------------------------------------------
field_names = st.sampled_from(["content", "style", "mask", "alpha", "weights", "preserve_color", "scale", "tile",
                               "style_id", "content_format", "width", "height", "mask_format", "result_format",
                               "style_size", "junk"])
values = st.one_of(st.text(max_size=20), st.sampled_from(["0", "1", "-1", "nan", "inf", "1e9", "0.5", "rgba",
                                                          "gray", "png", "histogram", "luminance", ""]))
blobs = st.one_of(st.binary(max_size=200), st.sampled_from([b"\x89PNG\r\n\x1a\n", png_header_only(99999, 99999)]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(st.tuples(field_names, values), max_size=8),
       uploads=st.lists(st.tuples(field_names, blobs), max_size=4))
def test_fuzz_only_2xx_or_4xx(server, fields, uploads) -> None:
    files = [(name, (f"{name}.bin", blob)) for name, blob in uploads]
    r = httpx.post(server.url + "/v1/stylize", headers=server.auth, data=dict(fields), files=files or None,
                   timeout=120)
    assert 200 <= r.status_code < 500, (r.status_code, r.text)
    assert server.alive()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400), ctype=st.sampled_from(["multipart/form-data; boundary=abc", "multipart/form-data",
                                                            "application/json", "text/plain", ""]))
def test_fuzz_raw_bodies(server, body, ctype) -> None:
    r = httpx.post(server.url + "/v1/stylize", headers={**server.auth, "Content-Type": ctype}, content=body, timeout=60)
    assert 200 <= r.status_code < 500, (r.status_code, r.text)
    assert server.alive()
