"""A frame's content statistics: what AdaIN takes from the content besides its features.

Why a type of its own: for video and frame sequences the statistics of neighbouring frames are smoothed
before stylising (each frame's own statistics pull the colours around: flicker). The engine measures them
(`Stylizer.measure`) and accepts them back (`stylize(..., content_stats=...)`); `adastyle batch` smooths
them in between, on one machine or gathered from a Ray cluster, so they travel as plain numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ContentStats:
    """relu4_1 mean/std per region (one region, or two with a mask) and what colour preservation reads.

    features: one (mean, std) pair per region, each (1, 512, 1, 1) float32;
    colour: RGB mean and covariance of the content (histogram colour preservation), else None;
    luminance: mean and std of the content's luminance (luminance colour preservation), else None;
    fill: the colour fully transparent pixels were given (their mean visible colour: work_image.fill_transparent),
    else None (each image then takes its own). Not among the arrays: frames smooth the features, not this.
    """
    features: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    colour: tuple[np.ndarray, np.ndarray] | None = None
    luminance: tuple[float, float] | None = None
    fill: tuple[int, int, int] | None = None

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain float64 arrays (picklable, Arrow-friendly, averageable)."""
        out = {"feat_mean": np.stack([m.reshape(-1).double().numpy() for m, _ in self.features]),
               "feat_std": np.stack([s.reshape(-1).double().numpy() for _, s in self.features])}
        if self.colour is not None:
            out["colour_mean"] = np.asarray(self.colour[0], np.float64)
            out["colour_cov"] = np.asarray(self.colour[1], np.float64)
        if self.luminance is not None:
            out["luminance"] = np.asarray(self.luminance, np.float64)
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray]) -> ContentStats:
        """Inverse of to_arrays (the luminance pair is rounded as the engine rounds it for its style cache)."""
        def col(x: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.array(x, np.float64)).float().view(1, -1, 1, 1)  # a copy: Ray's are read-only

        features = tuple((col(m), col(s)) for m, s in zip(a["feat_mean"], a["feat_std"]))
        colour = (np.asarray(a["colour_mean"], np.float64), np.asarray(a["colour_cov"], np.float64)) \
            if "colour_mean" in a else None
        lum = a.get("luminance")
        luminance = (round(float(lum[0]), 4), round(float(lum[1]), 4)) if lum is not None else None
        return cls(features, colour, luminance)
