"""Temporal coherence at the decoder's input: the previous frame's AdaIN target carried along the motion.

Why a second place to blend: the pixel chain (`adastyle.coherence.Coherence`) averages two finished textures,
which wears fine strokes away; blending the relu4_1 *targets* as well lets the decoder paint a texture from
features that already agree with the previous frame's, so the pixel blend then mixes two closer frames
(`bench/bench_batch.py` measures both chains; the README has the table). The features live on a grid of
stride 8, so the motion is taken to that grid: the input flow averaged over each 8x8 cell and divided by 8, and
a cell counts as reliable in proportion to the share of its pixels the input flow calls reliable (occluded
cells keep their own target).

The engine calls the chain (`Stylizer.run(..., target_chain=)`): `begin(frame)` once per frame with what the
encoder sees (the motion is measured once), then `carry(box, target)` for each tile just before it is decoded.
Tiles are keyed by the pixel box they encode, so a tiled frame carries each tile's target from the same tile
of the previous frame, with the flow cut to that box (what moved in from outside it counts as unreliable).
Frame t's decoding needs frame t-1's carried target, so the frames of one chain are decoded in playback order
by one process: a Ray actor runs it over its run of consecutive frames (`adastyle.batch.backend.FrameWorker`).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from adastyle.coherence import Motion, _cv2, motion
from adastyle_plugin import rules

STRIDE = 8  # relu4_1 cells per pixel side: the encoder pools three times

Box = tuple[int, int, int, int]  # (y0, y1, x0, x1): the pixels a target was encoded from


def grid_motion(m: Motion, grid_hw: tuple[int, int], box: Box | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The motion on a feature grid of `grid_hw` cells: (h, w, 2) flow in cells and (h, w) reliable share 0..1.

    box: the pixels the grid was encoded from (a tile's; default the whole frame). Its flow is cut out, and a
    pixel whose source lies outside the box counts as unreliable (the previous target of the box has no
    features there). The box is taken as padded to the grid's size at its bottom and right (as the engine
    pads the network's input to multiples of 8); padded pixels repeat the edge's flow and count as unreliable.
    """
    cv2 = _cv2()
    gh, gw = grid_hw
    flow, rel = m.backward, m.reliable
    if box is not None and box != (0, flow.shape[0], 0, flow.shape[1]):
        y0, y1, x0, x1 = box
        flow, rel = flow[y0:y1, x0:x1], rel[y0:y1, x0:x1]
        ys, xs = np.mgrid[0:y1 - y0, 0:x1 - x0].astype(np.float32)
        sx, sy = xs + flow[..., 0], ys + flow[..., 1]
        rel = rel & (sx >= 0) & (sx <= x1 - x0 - 1) & (sy >= 0) & (sy <= y1 - y0 - 1)
    h, w = flow.shape[:2]
    ph, pw = max(0, gh * STRIDE - h), max(0, gw * STRIDE - w)
    flow = cv2.copyMakeBorder(np.ascontiguousarray(flow), 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    rel = cv2.copyMakeBorder(rel.astype(np.float32), 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0.0)
    size = (gw, gh)
    cell_flow = cv2.resize(flow, size, interpolation=cv2.INTER_AREA) / STRIDE
    share = cv2.resize(rel, size, interpolation=cv2.INTER_AREA)
    return cell_flow.astype(np.float32), np.clip(share, 0.0, 1.0).astype(np.float32)


def warp_features(feat: torch.Tensor, cell_flow: np.ndarray) -> torch.Tensor:
    """(N, C, h, w) features sampled at p + flow(p) (flow in cells, bilinear, edges repeated)."""
    n, _, h, w = feat.shape
    flow = torch.from_numpy(np.ascontiguousarray(cell_flow)).to(feat.device, torch.float32)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32, device=feat.device),
                            torch.arange(w, dtype=torch.float32, device=feat.device), indexing="ij")
    x = (xs + flow[..., 0]) * (2.0 / max(w - 1, 1)) - 1.0
    y = (ys + flow[..., 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([x, y], dim=-1)[None].expand(n, h, w, 2)
    return F.grid_sample(feat.float(), grid, mode="bilinear", padding_mode="border", align_corners=True)


def blend_targets(target: torch.Tensor, previous: torch.Tensor, cell_flow: np.ndarray, share: np.ndarray,
                  strength: float) -> torch.Tensor:
    """Frame t's target with the previous target warped along the motion, weighted strength x reliable share
    per cell (a cell with no reliable pixel is left exactly as it was)."""
    carried = warp_features(previous, cell_flow).to(target.dtype)
    wgt = torch.from_numpy(np.ascontiguousarray(share * strength)).to(target.device, target.dtype)[None, None]
    return target + wgt * (carried - target)


class FeatureChain:
    """The chain over one clip at the decoder's input.

    Per frame, in playback order: `begin(frame)` with the input the encoder sees (the motion from the frame
    before is measured here, once), then `carry(box, target)` for each tile's AdaIN target, which returns the
    target to decode. `step(frame, target)` does both for a frame of one tile. Scene cuts (`coherence.motion`),
    a change of size and `restart()` start it afresh; with strength 0 nothing is computed and every target is
    returned as it came.
    """

    def __init__(self, strength: float) -> None:
        self.strength = rules.check_coherence_features(strength)
        self._prev_in: np.ndarray | None = None
        self._prev: dict[Box, torch.Tensor] = {}     # the previous frame's decoded targets, by box
        self._targets: dict[Box, torch.Tensor] = {}  # this frame's, so far
        self._motion: Motion | None = None
        self.cuts = 0
        self.motion: Motion | None = None  # the last frame's motion from the one before (None: none measured)

    @property
    def frame(self) -> np.ndarray | None:
        """The input of the last frame begun (what `motion` leads to)."""
        return self._prev_in

    @property
    def active(self) -> bool:
        return self.strength > 0

    def restart(self) -> None:
        self._prev_in, self._prev, self._targets, self._motion, self.motion = None, {}, {}, None, None

    def seed(self, frame: np.ndarray, target: torch.Tensor, box: Box | None = None) -> None:
        """Continue from a frame done before: its input and its decoded target (of `box`, default the whole
        frame)."""
        frame = np.asarray(frame)
        self._prev_in, self._prev, self._targets = frame, {}, {box or whole(frame): target}

    def begin(self, frame: np.ndarray) -> None:
        """Frame t starts: measure its motion from frame t-1 (a cut or a new size restarts the chain)."""
        if not self.active:
            return
        frame = np.asarray(frame)
        self._prev, self._targets, self._motion, self.motion = self._targets, {}, None, None
        if self._prev_in is not None and self._prev_in.shape[:2] == frame.shape[:2] and self._prev:
            m = motion(self._prev_in, frame)
            self.motion = m
            if m.cut:
                self.cuts += 1
            else:
                self._motion = m
        self._prev_in = frame

    def carry(self, box: Box, target: torch.Tensor) -> torch.Tensor:
        """The target of `box` (frame pixels y0, y1, x0, x1 it was encoded from) to decode: blended with the
        same box's target of the previous frame, warped along the motion, where the motion is reliable."""
        if not self.active:
            return target
        out = target
        prev = self._prev.get(box)
        if self._motion is not None and prev is not None and prev.shape == target.shape:
            cell_flow, share = grid_motion(self._motion, tuple(target.shape[-2:]), box)
            out = blend_targets(target, prev, cell_flow, share, self.strength)
        self._targets[box] = out
        return out

    def motion_for(self, frame: np.ndarray) -> Motion | None:
        """The motion measured at the last `begin` when it was measured on these very pixels (RGB, or RGBA whose
        colour the encoder saw: a frame worked at its own size in colour), else None. Why: the pixel chain of the
        same clip (`coherence.Coherence.step(known=)`) then takes it instead of measuring the flow again."""
        frame = np.asarray(frame)
        if frame.ndim == 3 and frame.shape[-1] == 4:
            frame = frame[..., :3]
        seen = self._prev_in
        if self.motion is None or seen is None or seen.shape != frame.shape or not np.array_equal(seen, frame):
            return None
        return self.motion

    def step(self, frame: np.ndarray, target: torch.Tensor) -> torch.Tensor:
        """begin(frame) and carry() of the whole frame: the target to decode for a frame of one tile."""
        frame = np.asarray(frame)
        self.begin(frame)
        return self.carry(whole(frame), target)


def whole(frame: np.ndarray) -> Box:
    """The box of a whole frame."""
    h, w = np.asarray(frame).shape[:2]
    return (0, h, 0, w)
