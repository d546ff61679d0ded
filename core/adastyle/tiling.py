"""Large images: a grid of overlapping tiles whose blend weights sum to exactly 1.

Tiles are aligned to multiples of 8 so that relu4_1 features of a tile line up with the image's.
Each tile is encoded with extra context around it; neighbouring tiles overlap by `overlap` pixels
and are blended with complementary linear ramps, so no seam shows and memory stays bounded
(BandBlender holds one row of tiles as floats, never the whole canvas).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

ALIGN = 8


@dataclass(frozen=True)
class Tile:
    y0: int  # core region (blended into the output)
    y1: int
    x0: int
    x1: int
    py0: int  # region encoded (core plus context), clipped to the image
    py1: int
    px0: int
    px1: int


def _starts(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    if length <= tile:
        return [(0, length)]
    stride = max(ALIGN, (tile - overlap) // ALIGN * ALIGN)
    spans = []
    start = 0
    while True:
        end = min(start + tile, length)
        spans.append((start, end))
        if end >= length:
            break
        start += stride
        if length - start < overlap + ALIGN:  # avoid a sliver at the end: stretch the last tile
            spans[-1] = (spans[-1][0], length)
            break
    return spans


def grid(height: int, width: int, tile: int, overlap: int, context: int) -> list[Tile]:
    """Tiles covering the image; `tile` is the core size, `context` the extra pixels encoded around it."""
    tile = max(ALIGN * 4, tile // ALIGN * ALIGN)
    overlap = min(overlap // ALIGN * ALIGN, tile // 2)
    context = context // ALIGN * ALIGN
    tiles = []
    for y0, y1 in _starts(height, tile, overlap):
        for x0, x1 in _starts(width, tile, overlap):
            tiles.append(Tile(y0, y1, x0, x1, max(0, y0 - context), min(height, y1 + context),
                              max(0, x0 - context), min(width, x1 + context)))
    return tiles


def ramp(length: int, lo_overlap: int, hi_overlap: int) -> torch.Tensor:
    """1-D blend weights: rises over the first lo_overlap samples, falls over the last hi_overlap."""
    w = torch.ones(length)
    if lo_overlap > 0:
        w[:lo_overlap] = (torch.arange(lo_overlap) + 0.5) / lo_overlap
    if hi_overlap > 0:
        w[length - hi_overlap:] = torch.minimum(w[length - hi_overlap:],
                                                1.0 - (torch.arange(hi_overlap) + 0.5) / hi_overlap)
    return w


def blend_weights(tile: Tile, tiles: list[Tile]) -> torch.Tensor:
    """(H, W) weights of a tile's core; overlaps with neighbours are complementary ramps (sum = 1)."""
    def overlap_lo(a0: int, a1: int, starts_ends: list[tuple[int, int]]) -> int:
        return max([e - a0 for s, e in starts_ends if s < a0 < e] or [0])

    def overlap_hi(a0: int, a1: int, starts_ends: list[tuple[int, int]]) -> int:
        return max([a1 - s for s, e in starts_ends if s < a1 < e and s > a0] or [0])

    rows = sorted({(t.y0, t.y1) for t in tiles})
    cols = sorted({(t.x0, t.x1) for t in tiles})
    wy = ramp(tile.y1 - tile.y0, overlap_lo(tile.y0, tile.y1, rows), overlap_hi(tile.y0, tile.y1, rows))
    wx = ramp(tile.x1 - tile.x0, overlap_lo(tile.x0, tile.x1, cols), overlap_hi(tile.x0, tile.x1, cols))
    return wy[:, None] * wx[None, :]


def quantize(x: torch.Tensor) -> np.ndarray:
    """Float pixels in about [0, 1] -> uint8 on the CPU, rounded where x lives (1 byte per value crosses over)."""
    return x.clamp(0, 1).mul(255).add_(0.5).to(torch.uint8).cpu().numpy()


class BandBlender:
    """Decoded tile cores blended into the uint8 output one band (a row of tiles) at a time.

    Tiles arrive in grid order; each adds its core times its blend weights into the current band of floats.
    When a tile starts a new row, the rows above it are final: they are quantised into the output and only the
    overlap is carried into the next band.
    """

    def __init__(self, tiles: list[Tile], height: int, width: int) -> None:
        self.tiles = tiles
        self.width = width
        self.out = np.empty((height, width, 3), dtype=np.uint8)
        self.band: np.ndarray | None = None
        self.band_y0 = 0

    def add(self, t: Tile, core: torch.Tensor) -> None:
        """Blend tile t's core pixels ((3, h, w) floats on the CPU) in."""
        if self.band is None or t.y0 != self.band_y0:
            self._start_band(t.y0)
        contrib = (core * blend_weights(t, self.tiles)[None]).permute(1, 2, 0).numpy()
        self.band[t.y0 - self.band_y0:t.y1 - self.band_y0, t.x0:t.x1] += contrib

    def _start_band(self, y0: int) -> None:
        if self.band is not None:
            self.out[self.band_y0:y0] = quantize(torch.from_numpy(self.band[: y0 - self.band_y0]))
            carry = self.band[y0 - self.band_y0:]
        else:
            carry = np.zeros((0, self.width, 3), np.float32)
        self.band_y0 = y0
        band_end = max(tt.y1 for tt in self.tiles if tt.y0 == y0)
        self.band = np.zeros((band_end - y0, self.width, 3), np.float32)
        self.band[: carry.shape[0]] = carry

    def finish(self) -> np.ndarray:
        """The output, with the last band quantised."""
        if self.band is not None:
            self.out[self.band_y0:self.band_y0 + self.band.shape[0]] = quantize(torch.from_numpy(self.band))
        return self.out
