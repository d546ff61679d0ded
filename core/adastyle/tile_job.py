"""What every tile of one stylisation shares, and the pixel-map helpers the tiles are cut with.

Why a module of its own: the Stylizer orders the work (measure, then decode, on one tile or on bands of
tiles); the per-tile arithmetic it relies on (region weights on the feature grid, padding to the
network's multiple of 8, 8-bit pixels to network input) is the same for both pipelines and has no state.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from adastyle import tiling
from adastyle.adain import StyleStats, WeightedMoments
from adastyle.errors import Cancelled
from adastyle.masks import feature_weights

Progress = Callable[[float], None]
CancelCheck = Callable[[], bool]
Stats = tuple[torch.Tensor, torch.Tensor]  # a region's content mean and std, each (1, C, 1, 1)


def image_digest(image: Image.Image | np.ndarray) -> str:
    """Cache key of an image's pixels (a numpy array is hashed in place: no copy of a huge canvas)."""
    import hashlib

    h = hashlib.sha1()
    if isinstance(image, np.ndarray):
        h.update(f"{image.shape}{image.dtype}".encode())
        h.update(np.ascontiguousarray(image).data)
    else:
        h.update(f"{image.mode}{image.size}".encode())
        h.update(image.tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class TileJob:
    """The work image, its per-pixel weights, and (to stylise) the style targets and alpha.

    regions: content statistics are gathered per region: one, or one per style when a mask chooses them.
    """

    arr: np.ndarray                 # (H, W, 3) uint8 work image
    opacity: torch.Tensor | None    # (1, 1, H, W) alpha in [0, 1]; None = opaque
    region: torch.Tensor | None     # (1, 1, H, W) mask in [0, 1]; None = no mask
    regions: int
    device: torch.device            # where statistics and AdaIN are computed
    targets: tuple[StyleStats, ...] = ()  # empty when only measuring
    alpha: float = 1.0

    @cached_property
    def digest(self) -> str:
        """The work image's cache key (computed once per job: hashing a large canvas is not free)."""
        return image_digest(self.arr)

    def new_moments(self) -> list[WeightedMoments]:
        return [WeightedMoments() for _ in range(self.regions)]

    def add_moments(self, moments: list[WeightedMoments], feat: torch.Tensor, t: tiling.Tile) -> None:
        """Add tile t's content features to each region's moments (core cells only: each pixel counted once)."""
        hw = feat.shape[-2:]
        core = core_weights(t, hw).to(self.device)
        for mom, wmap in zip(moments, self._region_weights(t, hw)):
            mom.add(feat, wmap * core)

    def _region_weights(self, t: tiling.Tile, hw: tuple[int, int]) -> list[torch.Tensor]:
        """Feature-grid weights per region for the padded tile t (region maps x opacity)."""
        ones = torch.ones(1, 1, t.py1 - t.py0, t.px1 - t.px0)
        op = crop_pad(self.opacity, t) if self.opacity is not None else ones
        if self.region is None:
            maps = [op]
        else:
            m = crop_pad(self.region, t)
            maps = [m * op, (1 - m) * op][:self.regions]
        return [feature_weights(m_, hw).to(self.device) for m_ in maps]


class Steps:
    """Progress as a fraction of the tile steps done."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done / self.total)


def check_cancel(cancel: CancelCheck | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def crop_pad(m: torch.Tensor, t: tiling.Tile) -> torch.Tensor:
    """A (1, 1, H, W) pixel map cut to tile t's encoded region, padded like the network input."""
    c = m[..., t.py0:t.py1, t.px0:t.px1]
    return pad8(c, mode="replicate")


def core_weights(t: tiling.Tile, hw: tuple[int, int]) -> torch.Tensor:
    """1 on the feature cells of the tile's core region (each image pixel counted once), else 0."""
    w = torch.zeros(1, 1, t.py1 - t.py0, t.px1 - t.px0)
    w[..., t.y0 - t.py0:t.y1 - t.py0, t.x0 - t.px0:t.x1 - t.px0] = 1
    return feature_weights(pad8(w, mode="constant"), hw)


def pad8(x: torch.Tensor, mode: str = "reflect") -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    if not (ph or pw):
        return x
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def to_network_input_array(a: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(1, 3, H, W) float in [0, 1], padded to multiples of 8, on `device`; 8-bit pixels cross to the device
    (a quarter of the bytes of floats) and are converted there."""
    x = torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).to(device)
    return pad8(x.permute(2, 0, 1)[None].float().div_(255.0))


def to_network_input(img: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    return to_network_input_array(np.asarray(img.convert("RGB"), dtype=np.uint8), device)
