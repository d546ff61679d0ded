"""Colour preservation, the two ways of Gatys et al. (2016) that the AdaIN paper uses.

- histogram: recolour the *style* image so its RGB mean and covariance equal the content's, then
  transfer as usual (the paper's method; colours come out close to the content's).
- luminance: transfer on luminance only (style luminance matched to the content's mean/std) and
  put the content's chroma back (YCbCr), so hues are exactly the content's.
The names of the modes are a shared rule: adastyle_plugin.rules.COLOR_MODES.
"""
from __future__ import annotations

import hashlib

import numpy as np
from PIL import Image


def _mean_cov(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    px = rgb.reshape(-1, 3).astype(np.float64) / 255.0
    return px.mean(axis=0), np.cov(px, rowvar=False) + np.eye(3) * 1e-5


def _sqrtm(m: np.ndarray, inverse: bool = False) -> np.ndarray:
    vals, vecs = np.linalg.eigh(m)
    vals = np.clip(vals, 1e-8, None)
    d = vals ** (-0.5 if inverse else 0.5)
    return (vecs * d) @ vecs.T


def colour_stats(image: Image.Image, max_side: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """RGB mean and covariance (from a thumbnail: statistics do not need every pixel of a big canvas)."""
    thumb = image.convert("RGB")
    if max(thumb.size) > max_side:
        thumb = thumb.copy()
        thumb.thumbnail((max_side, max_side))
    return _mean_cov(np.asarray(thumb))


def stats_digest(stats: tuple[np.ndarray, np.ndarray]) -> str:
    return hashlib.sha1(np.concatenate([stats[0].ravel(), stats[1].ravel()]).round(6).tobytes()).hexdigest()[:16]


def match_histogram(style: Image.Image, content_stats: tuple[np.ndarray, np.ndarray]) -> Image.Image:
    """Style image recoloured: x' = Sc^1/2 Ss^-1/2 (x - mu_s) + mu_c (mean and covariance of the content)."""
    rgb = np.asarray(style.convert("RGB")).astype(np.float64) / 255.0
    mu_s, cov_s = _mean_cov(np.asarray(style.convert("RGB")))
    mu_c, cov_c = content_stats
    a = _sqrtm(cov_c) @ _sqrtm(cov_s, inverse=True)
    out = (rgb.reshape(-1, 3) - mu_s) @ a.T + mu_c
    return Image.fromarray((np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8).reshape(rgb.shape), "RGB")


def luminance(image: Image.Image) -> Image.Image:
    """The Y channel (ITU-R 601, as PIL's YCbCr) as a grey RGB image, for stylising luminance only."""
    y = image.convert("RGB").convert("YCbCr").getchannel("Y")
    return Image.merge("RGB", (y, y, y))


def luminance_stats(grey: Image.Image) -> tuple[float, float]:
    """Mean and std of a grey image's luminance: all that matching luminance needs from the content."""
    y = np.asarray(grey.getchannel("R"), dtype=np.float64)
    return round(float(y.mean()), 4), round(float(y.std()), 4)


def match_luminance(style_grey: Image.Image, content_stats: tuple[float, float]) -> Image.Image:
    """Style luminance shifted and scaled to the content's luminance mean and std (Gatys et al.)."""
    s = np.asarray(style_grey.getchannel("R"), dtype=np.float64)
    c_mean, c_std = content_stats
    out = (s - s.mean()) / (s.std() + 1e-6) * c_std + c_mean
    y = Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))
    return Image.merge("RGB", (y, y, y))


def keep_content_chroma(stylised: Image.Image, content: Image.Image) -> Image.Image:
    """Luminance of the stylised image with the content's Cb and Cr."""
    y = stylised.convert("RGB").convert("YCbCr").getchannel("Y")
    _, cb, cr = content.convert("RGB").convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")
