"""Temporal coherence at the decoder's input: the previous frame's AdaIN target carried along the motion.

Why a second place to blend: the pixel chain (`adastyle.coherence.Coherence`) averages two finished textures,
which wears fine strokes away; blending the relu4_1 *targets* instead lets the decoder paint one texture from
features that agree with the previous frame's. The features live on a grid of stride 8, so the motion is taken
to that grid: the input flow averaged over each 8x8 cell and divided by 8, and a cell counts as reliable in
proportion to the share of its pixels the input flow calls reliable (occluded cells keep their own target).

`bench/bench_batch.py` measures this against the pixel chain and both together on the benchmark clips (the
README's table). It is not an option of `adastyle batch` yet: it makes frame t's decoding wait for frame t-1's
final target, so a distributed run would have to encode on its workers, run this chain on the driver and decode
on the workers again, where the pixel chain only needs the finished frames.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from adastyle.coherence import Motion, _cv2, motion
from adastyle_plugin import rules

STRIDE = 8  # relu4_1 cells per pixel side: the encoder pools three times


def grid_motion(m: Motion, grid_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The motion on a feature grid of `grid_hw` cells: (h, w, 2) flow in cells and (h, w) reliable share 0..1.

    The image is taken as padded to the grid's size at its bottom and right (as the engine pads the network's
    input to multiples of 8); padded pixels repeat the edge's flow and count as unreliable.
    """
    cv2 = _cv2()
    gh, gw = grid_hw
    h, w = m.backward.shape[:2]
    ph, pw = max(0, gh * STRIDE - h), max(0, gw * STRIDE - w)
    flow = cv2.copyMakeBorder(m.backward, 0, ph, 0, pw, cv2.BORDER_REPLICATE)
    rel = cv2.copyMakeBorder(m.reliable.astype(np.float32), 0, ph, 0, pw, cv2.BORDER_CONSTANT, value=0.0)
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
    """The chain over one clip at the decoder's input: feed (input frame, its AdaIN target) in playback order,
    get the target to decode. Scene cuts (`coherence.motion`) and `restart()` start it afresh; `seed` continues
    from a frame done before (the previous chunk), so chunk borders do not break it."""

    def __init__(self, strength: float) -> None:
        self.strength = rules.check_coherence(strength)
        self._prev_in: np.ndarray | None = None
        self._prev_target: torch.Tensor | None = None
        self.cuts = 0

    def restart(self) -> None:
        self._prev_in = self._prev_target = None

    def seed(self, frame: np.ndarray, target: torch.Tensor) -> None:
        self._prev_in, self._prev_target = np.asarray(frame), target

    def step(self, frame: np.ndarray, target: torch.Tensor) -> torch.Tensor:
        frame = np.asarray(frame)
        out = target
        if (self.strength > 0 and self._prev_in is not None and self._prev_target is not None
                and self._prev_in.shape[:2] == frame.shape[:2] and self._prev_target.shape == target.shape):
            m = motion(self._prev_in, frame)
            if m.cut:
                self.cuts += 1
            else:
                cell_flow, share = grid_motion(m, tuple(target.shape[-2:]))
                out = blend_targets(target, self._prev_target, cell_flow, share, self.strength)
        self._prev_in, self._prev_target = frame, out
        return out
