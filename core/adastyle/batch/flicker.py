"""Flicker, measured: a synthetic clip with known motion and the temporal error of its stylised frames.

Why synthetic: with a pan of a known number of pixels per frame, frame t+1 is frame t moved, so a stable
stylisation moves the same way; what remains after undoing the motion is flicker (colours and textures that
change from frame to frame). Used by `bench/bench_batch.py` and the tests.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def pan_clip(photo: Image.Image, frames: int, size: tuple[int, int], step: int) -> list[np.ndarray]:
    """`frames` windows of `size` (w, h) sliding right by `step` pixels per frame over the photo.

    The photo is enlarged first when the pan would run off it.
    """
    w, h = size
    need_w, need_h = w + step * (frames - 1), h
    rgb = photo.convert("RGB")
    grow = max(need_w / rgb.width, need_h / rgb.height, 1.0)
    if grow > 1:
        rgb = rgb.resize((int(np.ceil(rgb.width * grow)), int(np.ceil(rgb.height * grow))), Image.Resampling.BICUBIC)
    px = np.asarray(rgb)
    y0 = (px.shape[0] - h) // 2
    return [np.ascontiguousarray(px[y0:y0 + h, t * step:t * step + w]) for t in range(frames)]


def temporal_error(frames: Sequence[np.ndarray], step: int, margin: int = 16) -> float:
    """Mean absolute difference (0..255 levels) between each frame and the previous one moved by the pan.

    Frame t+1 at column x shows what frame t showed at column x + step. `margin` pixels along every edge are
    left out: there the network sees a different border in each frame, flicker or not.
    """
    errs = []
    for a, b in zip(frames[:-1], frames[1:]):
        a = np.asarray(a, np.float64)[..., :3]
        b = np.asarray(b, np.float64)[..., :3]
        w = a.shape[1]
        moved = a[margin:-margin, step + margin:w - margin]
        now = b[margin:-margin, margin:w - step - margin]
        errs.append(np.abs(moved - now).mean())
    return float(np.mean(errs))
