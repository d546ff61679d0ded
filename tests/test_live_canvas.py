"""The live canvas re-renders only what a stroke changed, and gives what a full render gives.

Real model, small canvases (384x320: large enough that a small stroke's box with its context is under MAX_SHARE).
Tolerances, measured at 512 px: inside a re-rendered box the pixels are within 1 level of a full render with the
same content statistics; a partial update is 0.4 to 2 levels on average from a fresh full render of the new
canvas (the statistics a stroke moves: live_canvas.MAX_DRIFT); a refreshed one equals it.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES, arr
from PIL import Image, ImageDraw

from adastyle.errors import Cancelled
from adastyle.live_canvas import FULL, PARTIAL, REFRESHED, UNCHANGED, LiveCanvas, LiveCanvases, changed_box, grow
from adastyle.request import StylizeRequest

SIZE = (384, 320)
HELD_MAX = 2        # levels: a re-rendered box against a full render with the same statistics
FRESH_MEAN = 3.0    # levels on average: a partial update against a fresh full render of the new canvas


@pytest.fixture(scope="module")
def canvas_img() -> Image.Image:
    return Image.open(EXAMPLES / "content-grace_hopper.jpg").convert("RGB").resize(SIZE)


def paint(img: Image.Image, points: list[tuple[int, int]], colour: tuple[int, ...], width: int = 7) -> Image.Image:
    out = img.copy()
    ImageDraw.Draw(out).line(points, fill=colour, width=width)
    return out


def held_render(stylizer, canvas: LiveCanvas, request: StylizeRequest) -> np.ndarray:
    """A full render of the request with the statistics the canvas's pixels were made with."""
    return arr(stylizer.run(request, content_stats=canvas.stats))


def test_a_small_stroke_re_renders_its_box_only(stylizer, canvas_img, style_img):
    canvas = LiveCanvas(max_drift=float("inf"))  # always the box: the mechanism itself
    first = canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))
    assert canvas.last == FULL and canvas.share == 1.0
    painted = paint(canvas_img, [(180, 150), (200, 160)], (200, 60, 40))
    request = StylizeRequest(painted, [style_img])
    calls = stylizer.encoder_calls
    out = arr(canvas.update(stylizer, request))
    assert canvas.last == PARTIAL and 0 < canvas.share < 0.6, canvas.share
    assert stylizer.encoder_calls == calls + 1  # the box only
    assert np.abs(out - held_render(stylizer, canvas, request)).max() <= HELD_MAX
    far = (slice(0, 40), slice(0, 40))  # outside the box: the kept pixels
    assert np.array_equal(out[far], arr(first)[far])


def test_a_partial_update_is_close_to_a_fresh_full_render(stylizer, canvas_img, style_img):
    canvas = LiveCanvas()
    canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))
    img = canvas_img
    seen = set()
    for i, (colour, x) in enumerate([((90, 80, 70), 120), ((230, 40, 40), 250), ((40, 200, 90), 160)]):
        img = paint(img, [(x, 100 + 40 * i), (x + 25, 110 + 40 * i)], colour)
        request = StylizeRequest(img, [style_img])
        out = arr(canvas.update(stylizer, request))
        fresh = arr(stylizer.run(request))
        seen.add(canvas.last)
        if canvas.last == PARTIAL:
            assert np.abs(out - fresh).mean() < FRESH_MEAN
        else:
            assert canvas.last == REFRESHED  # the statistics moved too far: decoded again with the new ones
            assert np.abs(out - fresh).max() <= 1
    assert PARTIAL in seen


def test_the_same_canvas_needs_no_network(stylizer, canvas_img, style_img):
    canvas = LiveCanvas()
    request = StylizeRequest(canvas_img, [style_img])
    first = canvas.update(stylizer, request)
    calls, decode = stylizer.encoder_calls, stylizer.decode
    stylizer.decode = None  # any decoder call would fail
    try:
        again = canvas.update(stylizer, StylizeRequest(canvas_img.copy(), [style_img]))
    finally:
        stylizer.decode = decode
    assert canvas.last == UNCHANGED and canvas.share == 0
    assert stylizer.encoder_calls == calls
    assert np.array_equal(arr(first), arr(again))


def test_a_full_render_encodes_once_and_other_options_render_in_full(stylizer, canvas_img, style_img, style_img2):
    canvas = LiveCanvas()
    img = paint(canvas_img, [(10, 10), (60, 20)], (10, 10, 200))  # a canvas no earlier test encoded
    calls = stylizer.encoder_calls
    canvas.update(stylizer, StylizeRequest(img, [style_img]))
    assert canvas.last == FULL and stylizer.encoder_calls == calls + 1  # measure and render share the features
    for request in (StylizeRequest(img, [style_img], alpha=0.6), StylizeRequest(img, [style_img2]),
                    StylizeRequest(img.resize((320, 256)), [style_img2])):
        out = canvas.update(stylizer, request)
        assert canvas.last == FULL
        assert np.abs(arr(out) - arr(stylizer.run(request))).max() <= 1
    big = paint(img, [(0, 0), (383, 319)], (255, 255, 0), width=40)  # most of the canvas within reach
    canvas.update(stylizer, StylizeRequest(big.resize((320, 256)), [style_img2]))
    assert canvas.last == FULL


def test_a_slider_move_after_strokes_runs_the_decoder_only(stylizer_fp32, canvas_img, style_img):
    # In float32, as the pasted features equal a whole-image encoding exactly only there (the fast dtype rounds
    # a tile's sums in another order than the whole image's: up to 3 levels on a few pixels, measured).
    stylizer = stylizer_fp32
    canvas = LiveCanvas(max_drift=float("inf"))
    canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))
    painted = paint(canvas_img, [(60, 60), (90, 70)], (120, 90, 200))
    canvas.update(stylizer, StylizeRequest(painted, [style_img]))
    assert canvas.last == PARTIAL
    calls = stylizer.encoder_calls
    request = StylizeRequest(painted, [style_img], alpha=0.7)
    out = arr(canvas.update(stylizer, request))
    assert canvas.last == FULL and canvas.share == 0.5 and stylizer.encoder_calls == calls  # the kept features
    assert np.abs(out - arr(stylizer.run(request))).max() <= 1  # the new canvas's own statistics


def test_a_stroke_at_the_edge(stylizer, canvas_img, style_img):
    canvas = LiveCanvas(max_drift=float("inf"))
    canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))
    request = StylizeRequest(paint(canvas_img, [(370, 300), (383, 319)], (250, 250, 250)), [style_img])
    out = arr(canvas.update(stylizer, request))
    assert canvas.last == PARTIAL
    assert np.abs(out - held_render(stylizer, canvas, request)).max() <= HELD_MAX


def test_rgba_keeps_its_alpha(stylizer, canvas_img, style_img):
    rgba = canvas_img.convert("RGBA")
    alpha = np.full(SIZE[::-1], 255, np.uint8)
    alpha[:, :100] = 0     # a transparent band (filled with the mean visible colour for the network)
    alpha[:, 100:140] = 128
    rgba.putalpha(Image.fromarray(alpha))
    canvas = LiveCanvas(max_drift=float("inf"))
    canvas.update(stylizer, StylizeRequest(rgba, [style_img]))
    painted = paint(rgba, [(90, 150), (130, 170)], (30, 30, 220, 255))  # across the transparent edge
    request = StylizeRequest(painted, [style_img])
    out = canvas.update(stylizer, request)
    assert canvas.last == PARTIAL and out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(painted)[..., 3])
    visible = np.asarray(painted)[..., 3] > 0
    diff = np.abs(arr(out)[..., :3] - held_render(stylizer, canvas, request)[..., :3])
    assert diff[visible].max() <= HELD_MAX


@pytest.mark.parametrize("mode", ["luminance", "histogram"])
def test_colour_preservation(stylizer, canvas_img, style_img, mode):
    canvas = LiveCanvas(max_drift=float("inf"))
    canvas.update(stylizer, StylizeRequest(canvas_img, [style_img], preserve_color=mode))
    request = StylizeRequest(paint(canvas_img, [(200, 100), (230, 120)], (250, 200, 0)), [style_img],
                             preserve_color=mode)
    out = arr(canvas.update(stylizer, request))
    assert canvas.last == PARTIAL
    assert np.abs(out - held_render(stylizer, canvas, request)).max() <= HELD_MAX


def test_a_cancelled_update_keeps_the_last_render(stylizer, canvas_img, style_img):
    canvas = LiveCanvas(max_drift=float("inf"))
    first = arr(canvas.update(stylizer, StylizeRequest(canvas_img, [style_img])))
    request = StylizeRequest(paint(canvas_img, [(100, 100), (120, 110)], (0, 0, 0)), [style_img])
    with pytest.raises(Cancelled):
        canvas.update(stylizer, request, cancel=lambda: True)
    canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))
    assert canvas.last == UNCHANGED  # still the first canvas's render
    assert np.array_equal(arr(canvas.update(stylizer, StylizeRequest(canvas_img, [style_img]))), first)


def test_boxes():
    old = np.zeros((64, 80, 3), np.uint8)
    new = old.copy()
    assert changed_box(old, new) is None
    new[10:13, 70:80] = 1
    assert changed_box(old, new) == (10, 13, 70, 80)
    assert grow((10, 13, 70, 80), 8, 64, 80) == (0, 24, 56, 80)  # corners on the 8-pixel grid, clipped


def test_sessions_are_bounded():
    canvases = LiveCanvases(sessions=2)
    a = canvases.get("a")
    canvases.get("b")
    assert canvases.get("a") is a  # used again: now the newest
    canvases.get("c")
    canvases._trim()
    assert len(canvases) == 2 and canvases.get("a") is a  # "b" was the least recently used
