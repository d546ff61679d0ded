"""POST /v1/sequence over real HTTP on 127.0.0.1: the frames of an animation as one job, stabilised as
`adastyle batch --sequence` stabilises them; progress, per-frame results, cancel, and every refusal a 4xx.
"""
from __future__ import annotations

import io
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image
from server_fixture import RunningServer, start_server

from adastyle.batch.flicker import pan_clip
from adastyle_plugin import http
from adastyle_plugin.http import Client

MAX_PIXELS = 400_000  # the server's per-request limit here: 12 frames of 192x144 fit, 40 of 128x96 do not
SIZE = (128, 96)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("adastyle-home"), "--max-pixels", str(MAX_PIXELS))
    yield srv
    srv.stop()


def png(px: np.ndarray | Image.Image) -> bytes:
    buf = io.BytesIO()
    (px if isinstance(px, Image.Image) else Image.fromarray(px)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """A slow pan over a photo: 4 frames, 6 px apart."""
    return pan_clip(Image.open(EXAMPLES / "content-coffee.jpg"), 4, SIZE, 6)


@pytest.fixture(scope="module")
def style_png(tmp_path_factory) -> Path:
    """A PNG style small enough that the server keeps it as it is (no reduction while decoding), so the
    server and `adastyle batch` read the very same style pixels."""
    path = tmp_path_factory.mktemp("style") / "castle.png"
    Image.open(EXAMPLES / "style-castle.jpg").convert("RGB").resize((360, 240)).save(path)
    return path


def post_sequence(server: RunningServer, files: list, data: dict | None = None) -> httpx.Response:
    return httpx.post(server.url + "/v1/sequence", files=files, data=data or {}, headers=server.auth, timeout=120)


def frame_files(frames: list[np.ndarray]) -> list:
    return [(f"frame_{i}", (f"f{i}.png", png(f), "image/png")) for i, f in enumerate(frames)]


def wait_state(server: RunningServer, job_id: str, states: tuple[str, ...], timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=10).json()
        if info["state"] in states:
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}")


def client(server: RunningServer) -> Client:
    return Client(url=server.url, token=server.token, timeout=60)


def batch_frames(tmp_path: Path, frames: list[np.ndarray], style: Path, stability: float) -> list[np.ndarray]:
    """The same frames through `adastyle batch --sequence` (a separate process, as a user runs it)."""
    import subprocess

    src, out = tmp_path / "frames", tmp_path / f"out-{stability:g}"
    src.mkdir(exist_ok=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"frame_{i:03d}.png")
    run = subprocess.run([sys.executable, "-m", "adastyle.cli", "batch", str(src), "-o", str(out), "--sequence",
                          "--stability", str(stability), "--style", str(style), "--no-progress"],
                         capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return [np.asarray(Image.open(out / f"frame_{i:03d}.png").convert("RGB")) for i in range(len(frames))]


# ---- the stabilised sequence ------------------------------------------------------------------------------
def test_sequence_equals_adastyle_batch_within_one_level(server, frames, style_png, tmp_path) -> None:
    seen: list[float] = []
    results = client(server).stylize_sequence([png(f) for f in frames], [str(style_png)], stability=2.0,
                                              progress=seen.append)
    assert len(results) == len(frames)
    got = []
    for data, headers in results:
        assert headers["content-type"] == "image/png" and (headers["x-width"], headers["x-height"]) == ("128", "96")
        got.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    assert seen == sorted(seen), "progress went backwards"
    expected = batch_frames(tmp_path, frames, style_png, 2.0)
    for i, (a, b) in enumerate(zip(got, expected)):
        diff = np.abs(a.astype(int) - b.astype(int))
        assert diff.max() <= 1, f"frame {i}: the server's frame differs from adastyle batch's by {diff.max()} levels"
    # ... and the smoothing was applied: frame by frame gives other frames.
    plain = client(server).stylize_sequence([png(f) for f in frames], [str(style_png)], stability=0)
    plain0 = np.asarray(Image.open(io.BytesIO(plain[0][0])).convert("RGB"))
    assert np.abs(plain0.astype(int) - got[0].astype(int)).max() > 2, "stability made no difference"


def test_coherence_follows_the_motion_and_zero_turns_it_off(server, style_png) -> None:
    """The same option as `adastyle batch --coherence`: frame 0 is its own; later frames agree with the previous
    output along the motion, so the measured flicker falls."""
    from adastyle.batch.flicker import camera_clip
    from adastyle.coherence import FlickerMeter

    clip = camera_clip(Image.open(EXAMPLES / "content-coffee.jpg"), 4, SIZE, 2.5)
    runs = {}
    for c in (0.0, 0.9):
        got = client(server).stylize_sequence([png(f) for f in clip], [str(style_png)], stability=0, coherence=c,
                                              coherence_features=0)
        runs[c] = [np.asarray(Image.open(io.BytesIO(d)).convert("RGB")) for d, _ in got]
    assert np.array_equal(runs[0.0][0], runs[0.9][0])
    assert not np.array_equal(runs[0.0][2], runs[0.9][2])
    meters = {c: FlickerMeter() for c in runs}
    for c, outs in runs.items():
        for f, o in zip(clip, outs):
            meters[c].add(f, o)
    assert meters[0.9].output_error < 0.5 * meters[0.0].output_error


def test_coherence_features_carry_the_target_and_zero_turns_them_off(server, style_png) -> None:
    """The same option as `adastyle batch --coherence-features`, sent as the form field: alone it lowers the
    flicker a little (the decoder repaints features moved by a fraction of a cell), before the pixel chain it
    lowers what that chain leaves; without the field both chains run (the schema's defaults)."""
    from adastyle.batch.flicker import camera_clip
    from adastyle.coherence import FlickerMeter

    clip = camera_clip(Image.open(EXAMPLES / "content-coffee.jpg"), 4, SIZE, 2.5)
    runs = {}
    for c, f in ((0.0, 0.0), (0.0, 0.9), (1.0, 0.0), (1.0, 0.9), (None, None)):
        given = {k: v for k, v in (("coherence", c), ("coherence_features", f)) if v is not None}
        fields = http.sequence_fields([png(x) for x in clip], [style_png.read_bytes()], stability=0, **given)
        if c is None:
            fields = [(k, v) for k, v in fields if k not in ("coherence", "coherence_features")]
        body, ctype = http.encode_multipart(fields)
        answer = httpx.post(f"{server.url}/v1/sequence", content=body, headers={**server.auth, "Content-Type": ctype},
                            timeout=120)
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["id"]
        assert wait_state(server, job_id, ("done", "failed"))["state"] == "done"
        runs[c, f] = [np.asarray(Image.open(io.BytesIO(client(server).frame_result(job_id, i)[0])).convert("RGB"))
                      for i in range(len(clip))]
    assert np.array_equal(runs[0.0, 0.9][0], runs[0.0, 0.0][0])
    assert not np.array_equal(runs[0.0, 0.9][2], runs[0.0, 0.0][2])
    assert all(np.array_equal(a, b) for a, b in zip(runs[None, None], runs[1.0, 0.9])), "the defaults are both on"
    error = {}
    for key, outs in runs.items():
        meter = FlickerMeter()
        for x, o in zip(clip, outs):
            meter.add(x, o)
        error[key] = meter.output_error
    assert error[0.0, 0.9] < 0.95 * error[0.0, 0.0], error
    assert error[1.0, 0.9] < error[1.0, 0.0], error


def test_raw_rgba_frames_round_trip(server, frames, style_png) -> None:
    """What the plug-ins send: raw R,G,B,A frames of one size, raw RGBA back, alpha kept."""
    rgba = []
    for f in frames[:2]:
        im = Image.fromarray(f).convert("RGBA")
        im.putalpha(Image.new("L", SIZE, 200))
        rgba.append(im.tobytes())
    results = client(server).stylize_sequence(rgba, [str(style_png)], size=SIZE, stability=1.0,
                                              result_format="rgba")
    for data, headers in results:
        assert len(data) == SIZE[0] * SIZE[1] * 4 and headers["content-type"] == "application/octet-stream"
        assert set(data[3::4]) == {200}, "the frames' alpha must come back untouched"


def test_job_info_progress_and_frame_results(server, frames, style_png) -> None:
    job = post_sequence(server, frame_files(frames[:3]) + [("style", ("s.png", style_png.read_bytes()))],
                        {"stability": "1"})
    assert job.status_code == 202, job.text
    info = wait_state(server, job.json()["id"], ("done", "failed"))
    assert info["state"] == "done" and info["progress"] == 1.0 and info["frames"] == 3, info
    base = f"{server.url}/v1/jobs/{info['id']}/result"
    assert httpx.get(base + "?frame=2", headers=server.auth).status_code == 200
    for query, code in (("", 422), ("?frame=3", 422), ("?frame=-1", 422), ("?frame=x", 422)):
        r = httpx.get(base + query, headers=server.auth)
        assert r.status_code == code and "frame" in r.text, (query, r.status_code, r.text)


def test_cancel_between_frames_and_the_server_keeps_serving(server, frames, style_png) -> None:
    many = pan_clip(Image.open(EXAMPLES / "content-coffee.jpg"), 12, (192, 144), 6)
    job = post_sequence(server, frame_files(many) + [("style", ("s.png", style_png.read_bytes()))],
                        {"stability": "0"})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until at least one frame is done, so the cancel lands between frames
        info = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=server.auth).json()
        if info["progress"] >= 1 / 12 or info["state"] not in ("queued", "running"):
            break
        time.sleep(0.05)
    assert info["state"] == "running", info
    r = httpx.delete(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=60)
    assert r.json()["state"] == "cancelled", r.json()
    assert httpx.get(f"{server.url}/v1/jobs/{job_id}/result?frame=0", headers=server.auth).status_code == 409
    assert server.alive()


# ---- refusals ---------------------------------------------------------------------------------------------
def test_refusals_are_4xx_with_a_message(server, frames, style_png) -> None:
    style = [("style", ("s.png", style_png.read_bytes()))]
    small = png(Image.fromarray(frames[0]).resize((64, 48)))
    big = [np.zeros((96, 128, 3), np.uint8) + i for i in range(40)]  # 40 x 12,288 px > MAX_PIXELS
    cases = {
        "no frames": (style, {}, 422, "frame_0"),
        "no style": (frame_files(frames[:2]), {}, 422, "style"),
        "sizes differ": (frame_files(frames[:2]) + [("frame_2", ("s.png", small))] + style, {}, 422, "same size"),
        "too many pixels": (frame_files(big) + style, {}, 413, "fewer frames"),
        "bad stability": (frame_files(frames[:2]) + style, {"stability": "-1"}, 422, "stability"),
        "stability not a number": (frame_files(frames[:2]) + style, {"stability": "lots"}, 422, "stability"),
        "bad coherence": (frame_files(frames[:2]) + style, {"coherence": "1.5"}, 422, "coherence must be between"),
        "bad feature coherence": (frame_files(frames[:2]) + style, {"coherence_features": "-0.1"}, 422,
                                  "coherence_features (feature coherence) must be between 0 (off) and 1"),
        "not an image": (frame_files(frames[:1]) + [("frame_1", ("x.png", b"not an image"))] + style, {}, 400,
                         "frame_1"),
        "raw of the wrong length": ([("frame_0", ("f.rgba", b"\0" * 100))] + style,
                                    {"content_format": "rgba", "width": "8", "height": "8"}, 400,
                                    "frame_0: expected 256 bytes"),
        "raw without a size": ([("frame_0", ("f.rgba", b"\0" * 256))] + style, {"content_format": "rgba"}, 422,
                               "width and height"),
    }
    for name, (files, data, code, needle) in cases.items():
        r = post_sequence(server, files, data)
        assert r.status_code == code, (name, r.status_code, r.text)
        assert needle in r.json()["message"], (name, r.json())
    assert server.alive()
    # Nothing of the refused requests stays held: a valid sequence is still accepted.
    r = post_sequence(server, frame_files(frames[:1]) + style)
    assert r.status_code == 202, r.text
    assert wait_state(server, r.json()["id"], ("done", "failed"))["state"] == "done"


def test_more_styles_per_request_serve_a_sequence_of_the_most_frames(tmp_path_factory) -> None:
    """--max-styles-per-request raised: a sequence of MAX_FRAMES raw frames with that many styles is read,
    stylised and answered frame by frame, sent by the plug-ins' client; one style more is too_many_styles."""
    from adastyle.sequence import MAX_FRAMES

    most = 9  # with MAX_FRAMES frames, more file parts than the form of a server for 4 styles takes
    srv = start_server(tmp_path_factory.mktemp("many-styles-home"), "--max-styles-per-request", str(most))
    try:
        side = 32
        frames = [bytes([i % 256, 0, 0, 255]) * (side * side) for i in range(MAX_FRAMES)]
        styles = [png(Image.new("RGB", (64, 64), (30 * i, 255 - 25 * i, 90))) for i in range(most)]
        job_id = client(srv).submit_sequence(frames, styles, size=(side, side), style_size=0,
                                             stability=1.0, coherence=0.0, result_format="rgba")
        info = wait_state(srv, job_id, ("done", "failed"), timeout=900)
        assert info["state"] == "done", info
        last, headers = client(srv).frame_result(job_id, MAX_FRAMES - 1)
        assert len(last) == side * side * 4 and headers["x-width"] == str(side)
        too_many = httpx.post(srv.url + "/v1/sequence", headers=srv.auth, timeout=120,
                              files=[("frame_0", ("f.png", png(Image.new("RGB", (side, side))), "image/png"))] +
                                    [("style", (f"s{i}.png", s, "image/png")) for i, s in enumerate([*styles, styles[0]])])
        assert too_many.status_code == 422 and too_many.json()["error"] == "too_many_styles", too_many.text
    finally:
        srv.stop()
