"""Large images: a grid of overlapping tiles whose blend weights sum to exactly 1.

Tiles are aligned to multiples of 8 so that relu4_1 features of a tile line up with the image's.
Each tile is encoded with extra context around it; neighbouring tiles overlap by `overlap` pixels
and are blended with complementary linear ramps, so no seam shows and memory stays bounded.
"""
from __future__ import annotations

from dataclasses import dataclass

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
