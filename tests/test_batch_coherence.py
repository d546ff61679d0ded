"""Temporal coherence (adastyle.coherence): optical flow, occlusions, scene cuts, the motion chain, the flicker
metric, and the chain across chunk borders and resumed runs of `adastyle batch`."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image

from adastyle import coherence
from adastyle.batch.backend import FrameResult
from adastyle.batch.flicker import camera_clip, parallax_clip
from adastyle.batch.inputs import plan
from adastyle.batch.job import BatchJob
from adastyle.cli import main
from adastyle.coherence import Coherence, FlickerMeter, motion, optical_flow
from adastyle_plugin import rules
from adastyle_plugin.errors import RuleError

STYLE = EXAMPLES / "style-castle.jpg"
SIZE = (160, 120)


def photo(name: str = "content-coffee.jpg") -> Image.Image:
    return Image.open(EXAMPLES / name)


def boil(frame: np.ndarray) -> np.ndarray:
    """A stand-in stylisation that flickers: the frame plus noise that differs with every frame's pixels (what a
    network does that repaints its texture for every frame), the same for the same frame wherever it is made."""
    seed = int.from_bytes(hashlib.sha256(np.ascontiguousarray(frame).tobytes()).digest()[:4], "little")
    noise = np.random.default_rng(seed).normal(0, 20, frame.shape[:2] + (3,))
    return np.clip(frame[..., :3] + noise, 0, 255).astype(np.uint8)


class BoilingBackend:
    """The batch backend protocol with `boil` as its model: fast, deterministic per frame."""

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk
        self.calls = 0
        self.places: list = []  # what each call said of the frames' places in their clip

    def measure(self, frames: Sequence[np.ndarray]) -> list:
        raise AssertionError("stability is off in these runs")

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence, places: Sequence | None = None) -> list[FrameResult]:
        self.calls += 1
        self.places.append(places)
        return [FrameResult(boil(f)) for f in frames]

    def close(self) -> None:
        pass


def test_the_flow_finds_a_sub_pixel_pan() -> None:
    a, b = camera_clip(photo(), 2, SIZE, 3.5)
    back = optical_flow(b, a)  # b(p) shows what a shows at p + back(p): the camera moved right, content left
    inner = back[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(3.5, abs=0.2)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.2)


def test_a_zoom_and_a_turn_are_followed() -> None:
    clip = camera_clip(photo("content-rocket.jpg"), 2, SIZE, 7, zoom=1.02, turn=1.0)
    m = motion(clip[0], clip[1])
    assert not m.cut and m.reliable_share > 0.7
    # undoing the motion leaves little of the difference between the frames
    meter = FlickerMeter()
    meter.add(clip[0], clip[0])
    meter.add(clip[1], clip[1], m)
    raw = np.abs(clip[1].astype(float) - clip[0].astype(float)).mean()
    assert meter.input_error < raw / 3


def test_occlusions_are_found_where_the_background_is_uncovered() -> None:
    w, h = SIZE
    clip = parallax_clip(photo(), photo("content-rocket.jpg"), 3, SIZE, back_step=2, front_step=7)
    m = motion(clip[1], clip[2])
    r = h // 4
    x1 = int(w * 0.15 + 7)      # the disc's left edge in frame 1; in frame 2 it is 7 px further right
    rows = slice(h // 2 - r // 2, h // 2 + r // 2)
    uncovered = m.reliable[rows, x1 + 1:x1 + 6]
    far = m.reliable[8:h // 2 - r - 8, w // 2:w - 12]   # background above the disc, away from it
    assert uncovered.mean() < 0.5
    assert far.mean() > 0.9


def test_a_scene_cut_is_detected_and_the_chain_restarts_there() -> None:
    a = camera_clip(photo(), 2, SIZE, 2)
    b = camera_clip(photo("content-astronaut.jpg"), 2, SIZE, 2)
    assert not motion(a[0], a[1]).cut
    assert motion(a[1], b[0]).cut
    chain = Coherence(1.0)
    chain.step(a[0], boil(a[0]))
    chain.step(a[1], boil(a[1]))
    after_cut = chain.step(b[0], boil(b[0]))
    assert np.array_equal(after_cut, boil(b[0])) and chain.cuts == 1  # nothing carried over the cut
    assert not np.array_equal(chain.step(b[1], boil(b[1])), boil(b[1]))  # and the new shot chains again


def test_the_chain_keeps_new_content_where_occluded_and_follows_the_motion_elsewhere() -> None:
    clip = parallax_clip(photo(), photo("content-rocket.jpg"), 3, SIZE)
    chain = Coherence(0.9)
    for f in clip[:2]:
        chain.step(f, boil(f))
    own = boil(clip[2])
    out = chain.step(clip[2], own)
    m = motion(clip[1], clip[2])
    occluded = ~m.reliable
    changed = np.abs(out.astype(int) - own.astype(int)).max(-1) > 0
    assert changed[m.reliable].mean() > 0.9          # followed the previous frame
    assert not changed[occluded].any()               # kept its own detail where something new appeared


@pytest.mark.parametrize("strength", [0.5, 0.9])
def test_coherence_cuts_the_warped_temporal_error(strength) -> None:
    clip = camera_clip(photo(), 8, SIZE, 2.5, zoom=1.005)
    plain, chained = FlickerMeter(), Coherence(strength, measure=True)
    for f in clip:
        plain.add(f, boil(f))
        chained.step(f, boil(f))
    assert chained.meter is not None and chained.meter.pairs == plain.pairs == 7
    assert chained.meter.input_error == pytest.approx(plain.input_error)
    assert chained.meter.output_error < (1 - strength + 0.15) * plain.output_error
    assert plain.output_error > 5 * plain.input_error  # the stand-in does flicker


def test_strength_zero_computes_nothing_and_changes_nothing(monkeypatch) -> None:
    monkeypatch.setattr(coherence, "motion", lambda *a: (_ for _ in ()).throw(AssertionError("flow computed")))
    chain = Coherence(0.0)
    clip = camera_clip(photo(), 3, SIZE, 2)
    assert all(np.array_equal(chain.step(f, boil(f)), boil(f)) for f in clip)


def test_alpha_passes_through_and_grey_frames_are_read() -> None:
    clip = camera_clip(photo(), 2, SIZE, 2)
    chain = Coherence(0.8)
    alpha = np.full(clip[0].shape[:2] + (1,), 77, np.uint8)
    chain.step(clip[0][..., 0], np.concatenate([boil(clip[0]), alpha], -1))
    out = chain.step(clip[1][..., 0], np.concatenate([boil(clip[1]), alpha], -1))
    assert out.shape[-1] == 4 and (out[..., 3] == 77).all()


def test_the_strength_is_checked() -> None:
    for bad in (-0.1, 1.5, float("nan"), "0.5", True):
        with pytest.raises(RuleError, match="coherence must be between 0"):
            rules.check_coherence(bad)
    assert rules.check_coherence(0) == 0.0


def _sequence(tmp_path, frames: list[np.ndarray]):
    src = tmp_path / "clip"
    src.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"f{i:02d}.png")
    return src


def _outputs(folder, n: int) -> list[np.ndarray]:
    return [np.asarray(Image.open(folder / f"f{i:02d}.png")) for i in range(n)]


def test_the_chain_runs_across_chunk_borders_and_resumed_runs(tmp_path) -> None:
    frames = camera_clip(photo(), 7, SIZE, 2.5)
    src = _sequence(tmp_path, frames)
    runs = {}
    for chunk in (7, 2, 3):
        items, _ = plan([src], tmp_path / f"out{chunk}", sequences=True)
        backend = BoilingBackend(chunk)
        summary = BatchJob(items, backend, coherence=0.8, progress=False).run()
        assert summary.written == 7 and not summary.failed
        runs[chunk] = _outputs(tmp_path / f"out{chunk}", 7)
    assert backend.calls == 3
    for chunk in (2, 3):
        assert all(np.array_equal(a, b) for a, b in zip(runs[7], runs[chunk])), chunk
    # a run killed after frame 3 and resumed continues the chain from the frame it finds on disk
    for i in range(4, 7):
        (tmp_path / "out2" / f"f{i:02d}.png").unlink()
    items, _ = plan([src], tmp_path / "out2", sequences=True)
    summary = BatchJob(items, BoilingBackend(2), coherence=0.8, resume=True, progress=False).run()
    assert summary.skipped == 4 and summary.written == 3
    assert all(np.array_equal(a, b) for a, b in zip(runs[7], _outputs(tmp_path / "out2", 7)))
    # and the chain did something: frame by frame differs after the first frame
    items, _ = plan([src], tmp_path / "fbf", sequences=True)
    BatchJob(items, BoilingBackend(7), coherence=0.0, progress=False).run()
    fbf = _outputs(tmp_path / "fbf", 7)
    assert np.array_equal(fbf[0], runs[7][0]) and not np.array_equal(fbf[3], runs[7][3])


def test_the_feature_chain_gets_each_frames_place_in_its_clip(tmp_path) -> None:
    """With --coherence-features the backend is told which clip and frame each frame is (its workers run the
    chain over consecutive frames); an unreadable frame leaves a gap, a resumed run starts where it goes on."""
    from adastyle.batch.backend import ClipPlace

    frames = camera_clip(photo(), 5, SIZE, 2)
    src = _sequence(tmp_path, frames)
    (src / "f02.png").write_bytes(b"not a png")
    items, _ = plan([src], tmp_path / "out", sequences=True)
    backend = BoilingBackend(2)
    BatchJob(items, backend, coherence=0.8, coherence_features=0.7, progress=False, report=lambda m: None).run()
    got = [p for call in backend.places for p in call]
    assert got == [ClipPlace(str(src), i, 0.7) for i in (0, 1, 3, 4)]
    (tmp_path / "out" / "f04.png").unlink()
    backend = BoilingBackend(2)
    BatchJob(items, backend, coherence_features=0.7, resume=True, progress=False, report=lambda m: None).run()
    assert backend.places == [[ClipPlace(str(src), 4, 0.7)]]
    backend = BoilingBackend(2)
    BatchJob(items, backend, coherence=0.8, progress=False, report=lambda m: None).run()
    assert backend.places and all(p is None for p in backend.places)  # off: no places, frames dealt as before
    images, _ = plan([src / "f00.png"], tmp_path / "single")
    backend = BoilingBackend(2)
    BatchJob(images, backend, coherence_features=0.7, progress=False).run()
    assert backend.places == [None]  # separate images are no clip


def test_a_failed_frame_breaks_the_chain_and_the_report_counts_the_rest(tmp_path) -> None:
    frames = camera_clip(photo(), 5, SIZE, 2)
    src = _sequence(tmp_path, frames)
    (src / "f02.png").write_bytes(b"not a png")
    items, _ = plan([src], tmp_path / "out", sequences=True)
    summary = BatchJob(items, BoilingBackend(2), coherence=0.8, measure_flicker=True, progress=False,
                       report=lambda m: None).run()
    assert summary.written == 4 and len(summary.failed) == 1
    assert len(summary.flicker) == 1
    line = summary.flicker[0]
    assert "over 2 frame pairs" in line and "the input's own" in line  # pairs 0-1 and 3-4, none across the gap



@pytest.mark.parametrize("alpha_channel", [False, True])
def test_the_batch_measures_a_frames_flow_once_for_both_chains(tmp_path, monkeypatch, flows_measured,
                                                              alpha_channel) -> None:
    """With both chains on, the worker's feature chain hands the motion it measured to the job's pixel chain:
    one flow per frame pair (not two), and the same frames as when the pixel chain measures it again."""
    from adastyle.batch.backend import LocalBackend
    from adastyle.feature_coherence import FeatureChain
    from adastyle.request import StyleOptions

    frames = camera_clip(photo(), 4, (96, 64), 2)
    if alpha_channel:  # the encoder sees the colour; the flow measured on it is still the frame's flow
        frames = [np.dstack([f, np.full(f.shape[:2], 200, np.uint8)]) for f in frames]
    src = _sequence(tmp_path, frames)
    options = StyleOptions(np.asarray(Image.open(STYLE).convert("RGB")))
    backend = LocalBackend(options, device="cpu")
    calls = flows_measured

    def run(out: str) -> list[np.ndarray]:
        items, _ = plan([src], tmp_path / out, sequences=True)
        summary = BatchJob(items, backend, coherence=0.8, coherence_features=0.9, progress=False).run()
        assert summary.written == 4 and not summary.failed
        return _outputs(tmp_path / out, 4)

    shared = run("shared")
    assert calls["n"] == 3, f"{calls['n']} flows measured for 3 frame pairs"
    monkeypatch.setattr(FeatureChain, "motion_for", lambda self, frame: None)
    calls["n"] = 0
    twice = run("twice")
    assert calls["n"] == 6
    assert all(np.array_equal(a, b) for a, b in zip(shared, twice))


@pytest.mark.slow
def test_batch_report_and_coherence_with_the_model(tmp_path, capsys) -> None:
    """The whole command on a small real clip: the report line, and coherence lowering the measured flicker."""
    frames = camera_clip(photo(), 5, (128, 96), 2.5)
    src = _sequence(tmp_path, frames)
    common = [str(src), "--style", str(STYLE), "--sequence", "--no-progress", "--device", "cpu", "--report",
              "--stability", "0"]
    errors = {}
    for c, f in (("0", "0"), ("0.8", "0"), ("0", "0.9"), ("0.8", "0.9")):
        out = tmp_path / f"out{c}-{f}"
        assert main(["batch", *common, "--coherence", c, "--coherence-features", f, "-o", str(out)]) == 0
        err = capsys.readouterr().err
        line = next(ln for ln in err.splitlines() if "flicker" in ln)
        errors[c, f] = float(line.split("flicker ")[1].split(" levels")[0])
    assert errors["0.8", "0"] < 0.5 * errors["0", "0"]
    assert errors["0", "0.9"] < 0.95 * errors["0", "0"]  # the carried target alone: a little
    assert errors["0.8", "0.9"] < errors["0.8", "0"]  # both: less than the pixel chain alone
    assert main(["batch", *common, "--coherence", "2", "-o", str(tmp_path / "bad")]) == 2
    assert "--coherence must be between 0" in capsys.readouterr().err
    assert main(["batch", *common, "--coherence-features", "1.5", "-o", str(tmp_path / "bad")]) == 2
    assert "--coherence-features (feature coherence) must be between 0 (off) and 1, got 1.5" in capsys.readouterr().err


def test_the_full_strength_is_kept_where_the_picture_only_moves_and_lowered_where_it_zooms() -> None:
    """The blend weight from the flow itself: a pan (any amount) keeps the strength, a 2 % zoom or a 2 degree
    turn gets DEFORM_KEEP of it; and where the previous frame is carried whole no detail is restored."""
    h, w = 96, 128
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    reliable = np.ones((h, w), bool)
    pan = np.dstack([np.full((h, w), 2.5, np.float32), np.full((h, w), -1.0, np.float32)])
    zoom = np.dstack([(xs - w / 2) * -0.02, (ys - h / 2) * -0.02]).astype(np.float32)
    a = np.deg2rad(2.0)
    turn = np.dstack([(np.cos(a) - 1) * (xs - w / 2) - np.sin(a) * (ys - h / 2),
                      np.sin(a) * (xs - w / 2) + (np.cos(a) - 1) * (ys - h / 2)]).astype(np.float32)
    inner = np.zeros((h, w), bool)
    inner[8:-8, 8:-8] = True  # away from the Sobel filter's border
    assert np.allclose(coherence.blend_weight(reliable, 1.0, pan)[inner], 1.0)
    for flow in (zoom, turn):
        # Next to picture entering at the edge (the turn's corners) no deformation is read: the flow is
        # extrapolated there.
        edge = coherence.entering(flow)
        near = cv2.dilate(edge.astype(np.uint8), np.ones((2 * coherence.DEFORM_EDGE + 1,) * 2, np.uint8)) > 0
        weight = coherence.blend_weight(reliable, 1.0, flow)
        assert np.allclose(weight[inner & ~near], coherence.DEFORM_KEEP, atol=1e-3)
        assert np.allclose(weight[near & ~edge], 1.0) and (flow is zoom) == (not near.any())
    assert np.allclose(coherence.blend_weight(reliable, 0.5, zoom)[inner], 0.5 * coherence.DEFORM_KEEP, atol=1e-3)
    assert coherence.mixing(np.array([1.0]))[0] == 0.0 and coherence.mixing(np.array([0.9]))[0] == pytest.approx(0.9)
    occluded = reliable.copy()
    occluded[:, 60:] = False
    weight = coherence.blend_weight(occluded, 1.0, pan)
    assert (weight[:, 60:] == 0).all() and weight[:, 55].max() > 0.99 and weight[:, 59].max() < 0.9


def test_flow_noise_and_picture_entering_at_the_edge_keep_the_full_strength_on_a_pan() -> None:
    """On a plain pan the flow's pixel noise and the spots where it is not reliable are no zoom, and the picture
    entering at the frame's edge gets no fade beside it: everywhere else the carried frame is taken whole."""
    h, w = 96, 128
    rng = np.random.default_rng(0)
    flow = np.dstack([np.full((h, w), 2.0, np.float32), np.zeros((h, w), np.float32)])
    flow += rng.normal(0, 0.03, flow.shape).astype(np.float32)
    flow[[0, -1], :, 1] = 0  # nothing enters at the top or the bottom
    reliable = ~coherence.entering(flow)
    assert not reliable[:, -2:].any() and reliable[:, :-3].all()  # the 2 entering columns
    flow[40:43, 60:63] = rng.normal(0, 5, (3, 3, 2))  # a spot of garbage flow, not reliable
    reliable[40:43, 60:63] = False
    weight = coherence.blend_weight(reliable, 1.0, flow)
    near_spot = np.zeros((h, w), bool)
    near_spot[37:46, 57:66] = True
    assert (weight[reliable & ~near_spot] > 0.999).all()
    assert (weight[~reliable] == 0).all() and weight[41, 59] < 0.8  # the spot's own seam fades


def test_keep_chroma_gives_each_output_its_own_inputs_colour_where_the_chain_carries_the_last() -> None:
    """Colour mode luminance: a colour grade on a still picture (the strokes carried whole) is followed at once."""
    from PIL import Image

    rng = np.random.default_rng(1)
    base = (rng.random((48, 64, 3)) * 255).astype(np.uint8)
    base = cv2.GaussianBlur(base, (0, 0), 3)  # a picture the flow can follow (it stays put)
    ycc = np.asarray(Image.fromarray(base).convert("YCbCr")).astype(np.int16)
    graded = []
    for k in range(3):
        g = ycc.copy()
        g[..., 1] = np.clip(g[..., 1] + 12 * k, 0, 255)  # bluer every frame, luminance unchanged
        graded.append(np.asarray(Image.fromarray(g.astype(np.uint8), "YCbCr").convert("RGB")))
    texture = (rng.random((48, 64, 3)) * 255).astype(np.uint8)  # the same "stylisation" of every frame

    def chroma(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).convert("YCbCr"))[..., 1:].astype(np.int16)

    plain, keeping = coherence.Coherence(1.0), coherence.Coherence(1.0, keep_chroma=True)
    for frame in graded:
        plain_out = plain.step(frame, texture)
        kept_out = keeping.step(frame, np.asarray(coherence.color.keep_content_chroma(
            Image.fromarray(texture), Image.fromarray(frame))))
    inner = (slice(4, -4), slice(4, -4))
    kept = np.abs(chroma(kept_out)[inner] - chroma(graded[-1])[inner])
    assert kept.mean() < 1  # (not 0: some pixels clip at the RGB gamut's edge)
    assert np.abs(chroma(plain_out)[inner] - chroma(graded[-1])[inner]).mean() > 5
