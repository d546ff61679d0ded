"""Spatial control: soft masks, per-region weighted statistics, and how regions map to styles.

As the AdaIN paper's spatial control: content features of each region are normalised with that
region's own statistics (weighted by the soft mask, so a feathered edge blends), then given the
region's style statistics. Transparent pixels (RGBA) get weight 0 so they do not pollute statistics.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from PIL import Image

from adastyle.model import EPS


class MaskError(ValueError):
    """A mask that does not fit the content."""


def fit_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask as 8-bit grey at `size`; resized only when its aspect ratio matches (within 1%)."""
    if mask.mode in ("RGBA", "LA"):
        # A painted layer: its alpha marks where the user painted.
        grey = mask.getchannel("A")
    else:
        grey = mask.convert("L")
    if grey.size == size:
        return grey
    mw, mh = grey.size
    cw, ch = size
    if abs(mw / mh - cw / ch) > 0.01 * (cw / ch):
        raise MaskError(f"mask is {mw}x{mh} but the content is {cw}x{ch} (sizes or aspect ratios must match)")
    return grey.resize(size, Image.Resampling.BILINEAR)


def feature_weights(pixel_weights: torch.Tensor, feat_hw: tuple[int, int]) -> torch.Tensor:
    """Average a (1, 1, H, W) pixel weight map down to the feature grid (area average)."""
    return F.adaptive_avg_pool2d(pixel_weights, feat_hw)


class WeightedMoments:
    """Streaming sum of w, w*f and w*f^2 per channel, so statistics can span many tiles."""

    def __init__(self) -> None:
        self.w = None
        self.s1 = None
        self.s2 = None

    def add(self, feat: torch.Tensor, weight: torch.Tensor) -> None:
        f = feat.double()
        w = weight.double()
        s0, s1, s2 = w.sum(), (w * f).sum(dim=(0, 2, 3)), (w * f * f).sum(dim=(0, 2, 3))
        if self.w is None:
            self.w, self.s1, self.s2 = s0, s1, s2
        else:
            self.w, self.s1, self.s2 = self.w + s0, self.s1 + s1, self.s2 + s2

    def mean_std(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(1, C, 1, 1) float32 mean and std; a region with no weight gets mean 0, std 1."""
        if self.w is None or float(self.w) < 1e-6:
            c = 512 if self.s1 is None else self.s1.numel()
            return torch.zeros(1, c, 1, 1), torch.ones(1, c, 1, 1)
        mean = self.s1 / self.w
        var = (self.s2 / self.w - mean * mean).clamp_min(0)
        return mean.float().view(1, -1, 1, 1), (var + EPS).sqrt().float().view(1, -1, 1, 1)
