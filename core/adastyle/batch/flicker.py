"""Flicker, measured: clips with known motion made from photos, and the temporal error of stylised frames.

Why synthetic: with a pan of a known number of pixels per frame, frame t+1 is frame t moved, so a stable
stylisation moves the same way; what remains after undoing the motion is flicker (colours and textures that
change from frame to frame). The camera and parallax clips move by fractions of a pixel, zoom, turn and
uncover the background, as real footage does; their flicker is measured along optical flow
(`adastyle.coherence.FlickerMeter`). Used by `bench/bench_batch.py` and the tests.
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


def camera_clip(photo: Image.Image, frames: int, size: tuple[int, int], step: float, zoom: float = 1.0,
                turn: float = 0.0) -> list[np.ndarray]:
    """A camera moving over the photo: panning `step` px right, zooming in by `zoom` and turning `turn` degrees
    per frame (a 7 px pan with a 1 % zoom: step=7, zoom=1.01). Resampled bicubically, so most motion is sub-pixel.
    """
    import cv2

    w, h = size
    rgb = np.asarray(photo.convert("RGB"))
    need = (w + abs(step) * frames) * 1.5  # room for the pan and for the corners a turn brings in
    grow = max(need / rgb.shape[1], need * h / w / rgb.shape[0], 1.0)
    if grow > 1:
        rgb = cv2.resize(rgb, (int(np.ceil(rgb.shape[1] * grow)), int(np.ceil(rgb.shape[0] * grow))),
                         interpolation=cv2.INTER_CUBIC)
    cx0 = rgb.shape[1] / 2 - step * (frames - 1) / 2
    cy = rgb.shape[0] / 2
    out = []
    for t in range(frames):
        m = cv2.getRotationMatrix2D((cx0 + step * t, cy), turn * t, zoom ** t)
        m[:, 2] += np.array([w / 2 - (cx0 + step * t), h / 2 - cy])  # the camera's centre to the frame's
        out.append(cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT))
    return out


def parallax_clip(background: Image.Image, foreground: Image.Image, frames: int, size: tuple[int, int],
                  back_step: float = 2.0, front_step: float = 7.0) -> list[np.ndarray]:
    """Parallax: the background pans slowly while a near object (a disc cut from the second photo, half the
    frame's height) crosses it faster, covering and uncovering the background (occlusions)."""
    import cv2

    w, h = size
    back = camera_clip(background, frames, size, back_step)
    r = h // 4
    fg = np.asarray(foreground.convert("RGB").resize((2 * r, 2 * r), Image.Resampling.LANCZOS)).astype(np.float32)
    yy, xx = np.mgrid[0:2 * r, 0:2 * r]
    disc = np.clip(r - np.hypot(xx - r + 0.5, yy - r + 0.5), 0, 1).astype(np.float32)[..., None]  # antialiased edge
    out = []
    for t, frame in enumerate(back):
        x = w * 0.15 + front_step * t
        m = np.float32([[1, 0, x], [0, 1, h / 2 - r]])
        layer = cv2.warpAffine(fg, m, (w, h), flags=cv2.INTER_CUBIC)
        cover = cv2.warpAffine(disc, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        out.append(np.clip(np.rint(frame * (1 - cover) + layer * cover), 0, 255).astype(np.uint8))
    return out
