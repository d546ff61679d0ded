"""`adastyle batch`: folder trees, videos (made here with PyAV), resume after a kill, bad files, stability."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import EXAMPLES, REPO
from PIL import Image

from adastyle import stability
from adastyle.batch.backend import FrameOutcome, LocalBackend
from adastyle.batch.flicker import pan_clip, temporal_error
from adastyle.batch.inputs import plan
from adastyle.batch.job import BatchJob
from adastyle.cli import main
from adastyle.content_stats import ContentStats
from adastyle.request import StyleOptions, StylizeRequest

av = pytest.importorskip("av")
STYLE = EXAMPLES / "style-castle.jpg"


def photo(size: tuple[int, int], name: str = "content-coffee.jpg") -> Image.Image:
    return Image.open(EXAMPLES / name).convert("RGB").resize(size)


def make_video(path: Path, frames: list[np.ndarray], rate: int = 12, audio: bool = True) -> None:
    """An MPEG-4 clip of the given frames, with a sine-wave AAC track when `audio`."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream("mpeg4", rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.bit_rate = 4_000_000
        a_s = out.add_stream("aac", rate=22050) if audio else None
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in vs.encode(vf):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if a_s is not None:
            n = int(22050 * len(frames) / rate)
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 22050)).astype(np.float32)[None]
            af = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            af.sample_rate = 22050
            af.pts = 0
            for p in a_s.encode(af):
                out.mux(p)
            for p in a_s.encode():
                out.mux(p)


def video_facts(path: Path) -> tuple[int, tuple[int, int], Fraction, bool]:
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        n = sum(1 for _ in c.decode(vs))
        return n, (vs.codec_context.width, vs.codec_context.height), Fraction(vs.average_rate), bool(c.streams.audio)


# ---- the engine hook ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["plain", "tiled", "mask", "histogram", "luminance"])
def test_stylize_with_measured_statistics_equals_plain_stylize(stylizer, content_img, style_img, case) -> None:
    kw: dict = {}
    if case == "tiled":
        kw["tile"] = 128
    elif case == "mask":
        m = Image.new("L", content_img.size, 0)
        m.paste(255, (0, 0, content_img.width // 2, content_img.height))
        kw["mask"] = m
    elif case in ("histogram", "luminance"):
        kw["preserve_color"] = case
    request = StylizeRequest(content_img, [style_img], **kw)
    stats = stylizer.measure(request)
    assert isinstance(stats, ContentStats) and len(stats.features) == 1
    direct = np.asarray(stylizer.run(request))
    given = np.asarray(stylizer.run(request, content_stats=stats))
    assert np.array_equal(direct, given)


def test_other_statistics_change_the_result(stylizer, content_img, style_img) -> None:
    other = stylizer.measure(StylizeRequest(photo(content_img.size, "content-rocket.jpg"), [style_img]))
    request = StylizeRequest(content_img, [style_img])
    a = np.asarray(stylizer.run(request), np.int16)
    b = np.asarray(stylizer.run(request, content_stats=other), np.int16)
    assert np.abs(a - b).mean() > 2


def test_statistics_round_trip_through_arrays(stylizer, content_img, style_img) -> None:
    s = stylizer.measure(StylizeRequest(content_img, [style_img], preserve_color="histogram"))
    back = ContentStats.from_arrays(s.to_arrays())
    assert torch.equal(back.features[0][0], s.features[0][0]) and torch.equal(back.features[0][1], s.features[0][1])
    assert np.array_equal(back.colour[1], s.colour[1])


# ---- smoothing ------------------------------------------------------------------------------------
def test_smoothing_keeps_a_constant_and_evens_out_a_jump() -> None:
    frames = [{"x": np.full(3, 1.0)}] * 5
    assert all(np.allclose(f["x"], 1.0) for f in stability.smooth_arrays(frames, 2.0))
    step = [{"x": np.array([0.0 if i < 10 else 1.0])} for i in range(20)]
    sm = [float(f["x"][0]) for f in stability.smooth_arrays(step, 2.0)]
    assert np.all(np.diff(sm) > -1e-12) and 0.3 < sm[10] < 0.7 and sm[0] < 0.01 and sm[-1] > 0.99
    assert [float(f["x"][0]) for f in stability.smooth_arrays(step, 0)] == [float(f["x"][0]) for f in step]


# ---- inputs and outputs ----------------------------------------------------------------------------
def test_a_failed_frame_is_the_users_fault_only_for_a_user_error(caplog) -> None:
    """A failed frame is a typed outcome whose line is the one error policy's: a UserError as it is; an internal
    ValueError (torch, PIL) hidden and logged with its traceback, as the server does."""
    from adastyle.errors import INTERNAL_ERROR, OUT_OF_MEMORY
    from adastyle.imageio import ImageError
    from adastyle.request import MaskError, RequestError

    def line(exc: BaseException) -> str | None:
        out = FrameOutcome.failed(exc)
        assert out.value is None
        return out.error

    assert line(RequestError("alpha must be a number between 0 and 1")) == "alpha must be a number between 0 and 1"
    assert line(ImageError("frame.png: not an image")) == "frame.png: not an image"
    assert line(MaskError("the mask is completely black")) == "the mask is completely black"
    with caplog.at_level("ERROR"):
        assert line(ValueError("expected 4D input (got 3D input)")) == INTERNAL_ERROR
    assert any(r.exc_info for r in caplog.records), "the internal error is logged with its traceback"
    assert line(MemoryError()) == OUT_OF_MEMORY


def test_a_backend_gives_a_failed_frame_back_as_an_outcome_and_goes_on() -> None:
    """A frame the options cannot be applied to (a mask of another shape) fails alone; the next one is done."""
    mask = Image.new("L", (64, 48), 255)
    backend = LocalBackend(StyleOptions(np.asarray(Image.open(STYLE).convert("RGB")), mask=mask), device="cpu")
    bad, good = np.zeros((30, 90, 3), np.uint8), np.asarray(photo((64, 48)))
    first, second = backend.stylize([bad, good], [None, None])
    assert first.value is None and "mask is 64x48 but the content is 90x30" in (first.error or "")
    assert second.error is None and second.value.shape == (48, 64, 3)
    measured = backend.measure([bad, good])
    assert measured[0].value is None and isinstance(measured[1].value, ContentStats)


def test_folder_tree_round_trip_and_a_corrupt_file_is_skipped(tmp_path, capsys) -> None:
    src = tmp_path / "in"
    (src / "b" / "c").mkdir(parents=True)
    photo((64, 48)).save(src / "x.png")
    photo((40, 56), "content-rocket.jpg").save(src / "b" / "y.jpg")
    rgba = photo((48, 48)).convert("RGBA")
    rgba.putalpha(Image.new("L", (48, 48), 128))
    rgba.save(src / "b" / "c" / "z.png")
    (src / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    rc = main(["batch", str(src), "-o", str(out), "--style", str(STYLE), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2  # something was skipped: the run says so in its exit code, after doing the rest
    assert "broken.png" in err and "skipped" in err
    assert "3 outputs written" in err and "1 skipped with errors" in err and "1 other files ignored" in err
    assert Image.open(out / "x.png").size == (64, 48)
    assert Image.open(out / "b" / "y.jpg").size == (40, 56)
    z = Image.open(out / "b" / "c" / "z.png")
    assert z.size == (48, 48) and z.mode == "RGBA" and z.getchannel("A").getextrema() == (128, 128)
    assert not (out / "b" / "broken.png").exists() and not (out / "notes.txt").exists()
    assert not [p for p in out.rglob(".*")], "no partial files left behind"


def test_plan_refuses_writing_over_the_inputs(tmp_path) -> None:
    from adastyle.errors import UserError

    photo((32, 32)).save(tmp_path / "a.png")
    with pytest.raises(UserError, match="overwrite"):
        plan([tmp_path], tmp_path)


def test_video_keeps_frame_count_size_rate_and_audio(tmp_path) -> None:
    frames = pan_clip(photo((256, 256)), 6, (64, 48), 8)
    clip = tmp_path / "clip.mp4"
    make_video(clip, frames, rate=12)
    assert video_facts(clip) == (6, (64, 48), Fraction(12), True)
    out = tmp_path / "out"
    rc = main(["batch", str(clip), "-o", str(out), "--style", str(STYLE), "--no-progress"])
    assert rc == 0
    n, size, rate, audio = video_facts(out / "clip.mp4")
    assert (n, size, rate, audio) == (6, (64, 48), Fraction(12), True)
    with av.open(str(out / "clip.mp4")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(first.astype(int) - frames[0].astype(int)).mean() > 10  # stylised, not copied


def test_resume_after_a_kill(tmp_path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(8):
        photo((320, 320), ["content-coffee.jpg", "content-rocket.jpg"][i % 2]).save(src / f"p{i}.png")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "adastyle.cli", "batch", str(src), "-o", str(out), "--style", str(STYLE),
           "--no-progress", "--device", "cpu"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (out.exists() and any(out.glob("p*.png"))):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = sorted(out.glob("p*.png"))
    assert 1 <= len(done) < 8, f"the kill came too late to test anything ({len(done)} done)"
    stamps = {p.name: p.stat().st_mtime_ns for p in done}
    for p in done:
        Image.open(p).load()  # every output that exists is complete
    rc = main(["batch", str(src), "-o", str(out), "--style", str(STYLE), "--no-progress", "--resume"])
    assert rc == 0
    assert sorted(p.name for p in out.glob("p*.png")) == [f"p{i}.png" for i in range(8)]
    assert {p.name: p.stat().st_mtime_ns for p in done} == stamps, "finished outputs were not redone"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "the killed run's partial file is gone"


# ---- temporal stability -------------------------------------------------------------------------------
def test_stabilised_frames_flicker_less_on_a_pan(tmp_path) -> None:
    frames = pan_clip(photo((384, 384), "content-astronaut.jpg"), 8, (128, 96), 8)
    options = StyleOptions((np.asarray(Image.open(STYLE).convert("RGB")),))
    backend = LocalBackend(options, device="cpu")
    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"f{i:02d}.png")
    errors = {}
    for s in (0.0, 3.0):
        items, _ = plan([src], tmp_path / f"out{s}", sequences=True)
        summary = BatchJob(items, backend, stability_frames=s, progress=False).run()
        assert summary.written == 8 and not summary.failed
        outs = [np.asarray(Image.open(tmp_path / f"out{s}" / f"f{i:02d}.png")) for i in range(8)]
        errors[s] = temporal_error(outs, 8)
    assert temporal_error(frames, 8) == 0.0  # the motion is undone exactly
    assert errors[3.0] < errors[0.0], errors
