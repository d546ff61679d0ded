"""Temporal coherence from motion: each stylised frame made to agree with the previous one where the picture moved.

Why: the network paints its texture anew for every frame, and any shift that is not a multiple of its stride
(8 px) gives a different texture, so a stylised video boils even when the content statistics are smoothed. The
motion between consecutive *input* frames is measured with OpenCV's DIS optical flow (no flow code of our own);
the previous *stylised* frame is warped along it and blended into the new one where the flow is reliable
(forward-backward consistent, and the warped input matches the new input). Where something new appears
(occlusions, the picture's edge, a scene cut) the new frame keeps its own detail; at a cut the chain restarts.

Why in pixels as well as at the relu4_1 target before decoding (`adastyle.feature_coherence`): a pixel blend
needs only the frames the network already made, so frames can be stylised anywhere (in parallel on a Ray
cluster) and the chain is applied in order afterwards by whoever writes the frames; it then runs across chunk
borders unchanged. Measured (`bench/bench_batch.py`): carrying the target alone removes only a fifth to two
fifths of the flicker (the decoder paints features moved by a fraction of a cell as a new texture), and before
this blend it lowers the error left by a fifth to a half more; the two run together by default.

The same flow gives the flicker metric (`FlickerMeter`): the mean |O_t - warp(O_{t-1})| over reliable pixels,
beside the input's own warped error (its floor: what interpolation and flow errors leave on a clip that does not
flicker at all).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from adastyle import color
from adastyle_plugin import rules

FB_RELATIVE = 0.01       # forward-backward check (Sundaram et al. 2010): |f + b|^2 <= 0.01 (|f|^2 + |b|^2) + 0.5
FB_ABSOLUTE = 0.5
PHOTO_LEVELS = 24.0      # the warped previous input may differ from the new input by at most this (0..255 levels)
CUT_RELIABLE = 0.35      # fewer reliable pixels than this share of the frame: a scene cut, the chain restarts
DETAIL_SIGMA = 1.5       # detail = image - blur(sigma): the strokes that resampling and blending wear away
ENERGY_SIGMA = 8.0       # neighbourhood over which detail energy is compared (smooth: the gain must not flicker)
FLOW_MAX_SIDE = 1024     # flow is measured on frames shrunk to this long side (DIS is linear in pixels)
SEAM_SIGMA = 1.0         # the carried frame fades out over about this many pixels towards an occlusion
DEFORM_LOW = 0.004       # local flow gradient (pixels per pixel) up to which the picture only moves ...
DEFORM_HIGH = 0.012      # ... and from which it deforms (a 1 % zoom per frame: ~0.014; a 1 degree turn: ~0.025)
DEFORM_KEEP = 0.9        # share of the strength kept where the picture deforms
DEFORM_EDGE = 16         # pixels next to picture entering at the frame's edge where no deformation is read
DEFORM_SIGMA = 4.0       # neighbourhood (pixels) over which the flow is smoothed before its gradient is taken


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - a dependency; guard for broken installs
        from adastyle.errors import UserError

        raise UserError("temporal coherence needs OpenCV: pip install opencv-python-headless") from None
    return cv2


def _rgb(frame: np.ndarray) -> np.ndarray:
    """The colour channels of a frame (grey frames repeated to three, alpha left out)."""
    a = np.asarray(frame)
    return np.repeat(a[..., None], 3, axis=-1) if a.ndim == 2 else a[..., :3]


def _grey(rgb: np.ndarray) -> np.ndarray:
    cv2 = _cv2()
    a = np.ascontiguousarray(_rgb(rgb), dtype=np.uint8)
    return cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)


def optical_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow from frame a to frame b, (H, W, 2) float32 in pixels (x, y): a(p) shows what b shows at p + f(p).

    OpenCV's DIS flow (medium preset, variational refinement on), on frames shrunk to FLOW_MAX_SIDE.
    """
    cv2 = _cv2()
    ga, gb = _grey(a), _grey(b)
    h, w = ga.shape
    shrink = min(1.0, FLOW_MAX_SIDE / max(h, w))
    if shrink < 1.0:
        size = (max(8, round(w * shrink)), max(8, round(h * shrink)))
        ga = cv2.resize(ga, size, interpolation=cv2.INTER_AREA)
        gb = cv2.resize(gb, size, interpolation=cv2.INTER_AREA)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(ga, gb, None)
    return resize_flow(flow, (h, w))


def resize_flow(flow: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """A flow field resampled to another size, its vectors scaled with it."""
    h, w = hw
    fh, fw = flow.shape[:2]
    if (fh, fw) == (h, w):
        return flow.astype(np.float32, copy=False)
    cv2 = _cv2()
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= w / fw
    out[..., 1] *= h / fh
    return out


def warp(image: np.ndarray, flow: np.ndarray, *, cubic: bool = False) -> np.ndarray:
    """image sampled at p + flow(p) (float32; edges replicated: the caller masks what came from outside)."""
    cv2 = _cv2()
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    src = np.asarray(image, dtype=np.float32)
    return cv2.remap(src, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def entering(flow: np.ndarray) -> np.ndarray:
    """Pixels of frame t that come from outside frame t-1 (bool, H x W): picture entering at the frame's edge."""
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    x, y = gx + flow[..., 0], gy + flow[..., 1]
    return (x < 0) | (x > w - 1) | (y < 0) | (y > h - 1)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Pixels of frame t whose backward flow (t -> t-1) is undone by the forward flow (t-1 -> t) where it lands,
    and which land inside frame t-1: not occluded (bool, H x W)."""
    fw_at = warp(forward, backward)
    diff = ((backward + fw_at) ** 2).sum(-1)
    size = (backward ** 2).sum(-1) + (fw_at ** 2).sum(-1)
    inside = ~entering(backward)
    return (diff <= FB_RELATIVE * size + FB_ABSOLUTE) & inside


@dataclass(frozen=True)
class Motion:
    """How frame t relates to frame t-1: where each pixel came from, and where that is to be trusted.

    backward: flow t -> t-1 (H, W, 2); reliable: bool (H, W), forward-backward consistent, inside the previous
    frame and matching it in colour; cut: too little is reliable for t to continue t-1 (a new shot).
    """
    backward: np.ndarray
    reliable: np.ndarray
    cut: bool

    @property
    def reliable_share(self) -> float:
        return float(self.reliable.mean())


def motion(prev: np.ndarray, cur: np.ndarray) -> Motion:
    """The motion from input frame prev to input frame cur (same size), with its occlusions and cut test."""
    prev3, cur3 = _rgb(prev), _rgb(cur)
    backward = optical_flow(cur3, prev3)
    forward = optical_flow(prev3, cur3)
    reliable = consistent(backward, forward)
    photo = np.abs(warp(prev3, backward) - cur3.astype(np.float32)).mean(-1)
    reliable &= photo <= PHOTO_LEVELS
    return Motion(backward, reliable, bool(reliable.mean() < CUT_RELIABLE))


def _at_size(m: Motion, hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The motion's flow and reliable mask at another size (a stylised frame larger or smaller than its input)."""
    if m.backward.shape[:2] == hw:
        return m.backward, m.reliable
    cv2 = _cv2()
    rel = cv2.resize(m.reliable.astype(np.uint8), (hw[1], hw[0]), interpolation=cv2.INTER_NEAREST).astype(bool)
    return resize_flow(m.backward, hw), rel


def deformation(flow: np.ndarray, reliable: np.ndarray | None = None,
                entered: np.ndarray | None = None) -> np.ndarray:
    """How much the picture deforms (zooms, turns, stretches) around each pixel between two frames: the size of
    the gradient of the flow smoothed over a neighbourhood, in pixels per pixel (0 where it only moves).

    Why smoothed first, and from `reliable` pixels only: the flow's pixel-to-pixel noise (a few hundredths of a
    pixel) has gradients as large as a slow zoom's, and where the flow is not reliable it is noise alone; read
    raw, they marked every edge and occlusion of a plain pan as zooming (4.5 % of the frame of a 2 px pan, and
    most of the flicker left there). A zoom or a turn is a smooth flow: its gradient survives the smoothing.
    entered: `entering(flow)` when the caller has it already.
    """
    cv2 = _cv2()
    ok = np.ones(flow.shape[:2], np.float32) if reliable is None else reliable.astype(np.float32)
    weight = np.maximum(cv2.GaussianBlur(ok, (0, 0), DEFORM_SIGMA), 1e-3)
    smooth = [cv2.GaussianBlur(np.ascontiguousarray(flow[..., i]) * ok, (0, 0), DEFORM_SIGMA) / weight
              for i in range(2)]
    grads = [cv2.Sobel(f, cv2.CV_32F, dx, 1 - dx, ksize=3) / 8.0 for f in smooth for dx in (0, 1)]
    size = np.sqrt(sum(g * g for g in grads)).astype(np.float32)
    # Next to picture entering at the frame's edge the flow is extrapolated (what it would match is not in the
    # previous frame) and bends on a plain pan (measured: 0.04 px over 20 px): no deformation is read there.
    entered = entering(flow) if entered is None else entered
    near_edge = cv2.dilate(entered.astype(np.uint8), np.ones((2 * DEFORM_EDGE + 1,) * 2, np.uint8))
    return np.where(near_edge > 0, np.float32(0.0), size)


def blend_weight(reliable: np.ndarray, strength: float, flow: np.ndarray | None = None) -> np.ndarray:
    """Per-pixel weight of the warped previous output: strength where reliable, fading to 0 over a pixel or two
    towards occlusions (no hard seam), 0 where occluded; with the flow, lowered to DEFORM_KEEP x strength where
    the picture deforms.

    Why two strengths: where the picture only moves, the previous frame's strokes carried along the flow are
    exactly what the new frame should show, and any share of the new frame's own texture is flicker; where it
    zooms or turns, carried strokes grow or turn with the picture frame after frame and drift from the style, so
    some of each frame's own strokes must come in (measured in the README: at 1 everywhere the style loss rose
    13 % on a zooming clip; this way it stays below frame by frame on every clip)."""
    cv2 = _cv2()
    r = reliable.astype(np.float32)
    # No fade towards picture that enters at the frame's edge: that seam lies along the edge, and a fade there
    # would let each frame's own texture into the rows next to it, frame after frame (on a 2 px pan a quarter of
    # the flicker left was that fade).
    entered = None if flow is None else entering(flow)
    inside = r if entered is None else np.maximum(r, entered.astype(np.float32))
    soft = cv2.GaussianBlur(inside, (0, 0), SEAM_SIGMA)
    weight = strength * soft * r
    if flow is not None:
        t = np.clip((deformation(flow, reliable, entered) - DEFORM_LOW) / (DEFORM_HIGH - DEFORM_LOW), 0.0, 1.0)
        weight *= 1.0 - (1.0 - DEFORM_KEEP) * t
    return weight


def mixing(weight: np.ndarray) -> np.ndarray:
    """Where two textures are actually averaged: the detail restoration's weight. Where the previous frame is
    carried whole (weight 1) nothing was averaged, and raising its detail again every frame would itself flicker;
    full restoration from a 10 % share of the new frame on."""
    return np.minimum(1.0, 10.0 * (1.0 - weight)) * weight


def restore_detail(carried: np.ndarray, own: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """`carried` (float RGB, mostly the previous output warped) with the fine detail's local energy raised back
    to that of the frame's own stylisation where it fell.

    Why: every warp resamples the carried texture and every blend averages two textures, so fine strokes fade
    over a clip (smearing) and the frames drift from the style. The detail (image minus its blur) is scaled per
    pixel by sqrt(own energy / carried energy), never down, at most 2x, measured over a smooth neighbourhood so the
    gain itself does not flicker; scaled by `weight` (nothing happens where the frame is its own).
    """
    cv2 = _cv2()
    base_c = cv2.GaussianBlur(carried, (0, 0), DETAIL_SIGMA)
    det_c = carried - base_c
    det_o = own - cv2.GaussianBlur(own, (0, 0), DETAIL_SIGMA)
    e_c = cv2.GaussianBlur((det_c ** 2).mean(-1), (0, 0), ENERGY_SIGMA)
    e_o = cv2.GaussianBlur((det_o ** 2).mean(-1), (0, 0), ENERGY_SIGMA)
    gain = np.clip(np.sqrt((e_o + 1e-3) / (e_c + 1e-3)), 1.0, 2.0)
    gain = 1.0 + (gain - 1.0) * weight[..., 0]
    return base_c + det_c * gain[..., None]


class Coherence:
    """The chain over one clip: feed (input frame, its stylised frame) in playback order, get the output frame.

    strength: 0..1, the weight of the previous output warped to the new frame where the motion is reliable and
    the picture only moves (DEFORM_KEEP of it where it zooms or turns); 0 = frame by frame; 1 (the default) =
    where the picture only moves, its strokes move with it and the new frame's own texture comes in only where
    something new appeared. measure: also keep a
    FlickerMeter of the outputs (`meter`), from the same flow. keep_chroma: the frames keep their input's colour
    (`preserve_color="luminance"`): the chain carries the luminance only and each output takes its own input's
    chroma again, so colour that changes while the picture stays (a fade, a grade) is followed at once instead of
    being carried along with the strokes. Call `restart()` where the clip is broken (a frame failed); scene cuts
    are found and restarted at by themselves. With strength 0 and no meter nothing is computed.
    """

    def __init__(self, strength: float, measure: bool = False, keep_chroma: bool = False) -> None:
        self.strength = rules.check_coherence(strength)
        self.keep_chroma = keep_chroma
        self.meter: FlickerMeter | None = FlickerMeter() if measure else None
        self._prev_in: np.ndarray | None = None
        self._prev_out: np.ndarray | None = None
        self.cuts = 0

    @property
    def active(self) -> bool:
        return self.strength > 0 or self.meter is not None

    def restart(self) -> None:
        self._prev_in = None
        self._prev_out = None
        if self.meter is not None:
            self.meter.restart()

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        """Continue from a frame done before (a resumed run, the previous chunk): its input and final output."""
        self._prev_in, self._prev_out = np.asarray(frame), np.asarray(output)
        if self.meter is not None:
            self.meter.seed(self._prev_in, self._prev_out)

    def step(self, frame: np.ndarray, stylised: np.ndarray, known: Motion | None = None) -> np.ndarray:
        """The output frame for `frame` (an input) from its own stylisation and the chain so far (uint8).

        known: the motion from the previous input to `frame` when the caller measured it already (the feature
        chain of the same frames): the flow is then not measured twice."""
        stylised = np.asarray(stylised)
        frame = np.asarray(frame)
        if not self.active:
            return stylised
        out = stylised
        m: Motion | None = None
        if self._prev_in is not None and self._prev_in.shape[:2] == frame.shape[:2]:
            m = known if known is not None and known.backward.shape[:2] == frame.shape[:2] else None
            m = m or motion(self._prev_in, frame)
            if m.cut:
                self.cuts += 1
            elif (self.strength > 0 and self._prev_out is not None and self._prev_out.shape == stylised.shape
                  and stylised.ndim == 3):
                out = self._blend(m, stylised, frame)
        self._prev_in = frame
        self._prev_out = out
        if self.meter is not None:
            self.meter.add(frame, out, m)
        return out

    def _blend(self, m: Motion, stylised: np.ndarray, frame: np.ndarray) -> np.ndarray:
        assert self._prev_out is not None
        flow, rel = _at_size(m, stylised.shape[:2])
        w = blend_weight(rel, self.strength, flow)[..., None]
        rgb = stylised[..., :3].astype(np.float32)
        carried = warp(self._prev_out[..., :3], flow, cubic=True)
        mixed = rgb + w * (carried - rgb)
        mixed = restore_detail(mixed, rgb, mixing(w))
        mixed = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
        if self.keep_chroma:
            content = Image.fromarray(np.ascontiguousarray(_rgb(frame)))
            if content.size != (mixed.shape[1], mixed.shape[0]):
                content = content.resize((mixed.shape[1], mixed.shape[0]), Image.Resampling.LANCZOS)
            mixed = np.asarray(color.keep_content_chroma(Image.fromarray(mixed), content))
        return np.concatenate([mixed, stylised[..., 3:]], axis=-1) if stylised.shape[-1] == 4 else mixed


@dataclass
class FlickerMeter:
    """Warped temporal error of a clip's output and of its input (the floor), averaged over frame pairs.

    add(input, output) in playback order; a cut (or a missing frame: restart()) starts a new chain and the
    pair across it is not counted.
    """
    pairs: int = 0
    cuts: int = 0
    _out_sum: float = 0.0
    _in_sum: float = 0.0
    _prev_in: np.ndarray | None = None
    _prev_out: np.ndarray | None = None

    def restart(self) -> None:
        self._prev_in = self._prev_out = None

    def seed(self, frame: np.ndarray, output: np.ndarray) -> None:
        self._prev_in, self._prev_out = frame, output

    def add(self, frame: np.ndarray, output: np.ndarray, m: Motion | None = None) -> None:
        """One more frame; `m` is the motion from the previous input when the caller has it already."""
        frame, output = np.asarray(frame), np.asarray(output)
        if self._prev_in is not None and self._prev_out is not None and self._prev_in.shape == frame.shape:
            m = m or motion(self._prev_in, frame)
            if m.cut:
                self.cuts += 1
            elif m.reliable.any():
                self._in_sum += warped_error(self._prev_in, frame, m)
                self._out_sum += warped_error(self._prev_out, output, m)
                self.pairs += 1
        self._prev_in, self._prev_out = frame, output

    @property
    def output_error(self) -> float:
        return self._out_sum / self.pairs if self.pairs else float("nan")

    @property
    def input_error(self) -> float:
        return self._in_sum / self.pairs if self.pairs else float("nan")

    def line(self, name: str) -> str:
        """The `adastyle batch --report` line of a clip."""
        if not self.pairs:
            return f"{name}: flicker not measured (fewer than two frames that follow each other)"
        return (f"{name}: flicker {self.output_error:.2f} levels (warped temporal error of the output over "
                f"{self.pairs} frame pairs; the input's own: {self.input_error:.2f})"
                + (f"; {self.cuts} scene cuts" if self.cuts else ""))


def warped_error(prev: np.ndarray, cur: np.ndarray, m: Motion) -> float:
    """Mean |cur - warp(prev)| (0..255 levels, RGB) over the pixels the motion says are reliable."""
    flow, rel = _at_size(m, np.asarray(cur).shape[:2])
    if not rel.any():
        return float("nan")
    diff = np.abs(warp(_rgb(prev), flow) - _rgb(cur).astype(np.float32))
    return float(diff[rel].mean())
