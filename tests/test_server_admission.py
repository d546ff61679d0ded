"""Admission over real HTTP: every image is charged by its header and its working size before it is decoded,
thin images are refused, header reads stay off the event loop, and the smaller refusals say what is wrong."""
from __future__ import annotations

import io
import struct
import threading
import time
import zlib

import httpx
import pytest
from PIL import Image
from server_fixture import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("admission-home"), "--result-ttl", "25")
    yield srv
    srv.stop()


def png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, 128 if mode == "L" else (120, 60, 30)).save(buf, format="PNG")
    return buf.getvalue()


def chunky_png(chunks: int) -> bytes:
    """A valid 8x8 PNG with `chunks` empty ancillary chunks before its pixels (slow to reach the header's end)."""
    raw = png((8, 8))
    empty = struct.pack(">I", 0) + b"tEXt" + struct.pack(">I", zlib.crc32(b"tEXt"))
    head_end = 8 + 25  # signature + IHDR
    return raw[:head_end] + empty * chunks + raw[head_end:]


STYLE = png((64, 48))


def post_job(server, content: bytes, **fields) -> httpx.Response:
    return httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=60,
                      files={"content": ("c.png", content), "style": ("s.png", STYLE)},
                      data={k: str(v) for k, v in fields.items()})


@pytest.mark.parametrize("size", [(1, 300_000), (300_000, 1), (2, 4000)])
def test_thin_images_are_refused_not_stretched(server, size) -> None:
    r = post_job(server, png(size, "L"))
    assert r.status_code == 422, (r.status_code, r.text)
    assert r.json()["error"] == "image_too_thin" and "too thin" in r.json()["message"]
    r = httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=60,
                   files={"content": ("c.png", png((64, 64))), "style": ("s.png", png(size, "L"))})
    assert r.status_code == 422 and r.json()["error"] == "image_too_thin", r.text
    assert server.alive()


def test_working_size_counts_the_32_pixel_minimum(server) -> None:
    # 40 x 2560 (1:64, allowed) at stroke scale 0.05 works at 32 x 2048 pixels, not 2 x 128.
    r = post_job(server, png((40, 2560)), scale=0.05)
    assert r.status_code == 202, r.text


def test_a_sequence_of_thin_frames_is_refused(server) -> None:
    frames = {f"frame_{i}": (f"f{i}.png", png((1, 1000), "L")) for i in range(8)}
    r = httpx.post(server.url + "/v1/sequence", headers=server.auth, timeout=60,
                   files={**frames, "style": ("s.png", STYLE)})
    assert r.status_code == 422 and r.json()["error"] == "image_too_thin", r.text


def test_health_answers_while_a_slow_header_is_read(server) -> None:
    body = chunky_png(2_000_000)  # 24 MB; reading its header takes many seconds
    done = threading.Event()

    def upload() -> None:
        try:
            httpx.post(server.url + "/v1/styles", headers=server.auth, files={"style": ("s.png", body)}, timeout=300)
        except httpx.HTTPError:
            pass  # only the event loop's answers are measured here
        finally:
            done.set()

    threading.Thread(target=upload, daemon=True).start()
    time.sleep(1.0)  # the body is on its way or being read
    worst = 0.0
    while not done.is_set():
        t0 = time.monotonic()
        assert httpx.get(server.url + "/v1/health", timeout=30).status_code == 200
        worst = max(worst, time.monotonic() - t0)
        time.sleep(0.1)
    assert worst < 4.0, f"/v1/health took {worst:.1f} s while a header was read"


def test_a_lab_mask_is_a_clear_422(server) -> None:
    lab = Image.new("LAB", (64, 64))
    buf = io.BytesIO()
    lab.save(buf, format="TIFF")
    r = httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=60,
                   files={"content": ("c.png", png((64, 64))), "style": ("s.png", STYLE), "mask": ("m.tif", buf.getvalue())})
    assert r.status_code == 422, r.text
    assert "LAB" in r.json()["message"] and "Error" not in r.json()["message"]


def test_style_id_sent_as_a_file_is_a_clear_422(server) -> None:
    r = httpx.post(server.url + "/v1/jobs", headers=server.auth,
                   files={"content": ("c.png", png((64, 64))), "style_id": ("x.bin", b"abc")})
    assert r.status_code == 422 and "UploadFile" not in r.text, r.text


def test_405_says_what_is_allowed(server) -> None:
    r = httpx.put(server.url + "/v1/health", headers=server.auth)
    assert r.status_code == 405 and "GET" in r.headers.get("allow", ""), (r.status_code, r.headers)


def test_an_id_never_issued_is_unknown_not_lost(server) -> None:
    r = httpx.get(server.url + "/v1/jobs/" + "0123456789abcdef" * 2, headers=server.auth)
    assert r.status_code == 404 and r.json()["error"] == "unknown_job", r.text


def test_messages_give_short_times_in_seconds(server) -> None:
    r = httpx.get(server.url + "/v1/jobs/nothing", headers=server.auth)
    assert "25 seconds" in r.json()["message"] and "0.41" not in r.json()["message"], r.text
