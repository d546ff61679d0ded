"""AdaIN arithmetic on feature maps: statistics, weighted (per-region, streaming) moments, the target.

Kept apart from the networks and from the engine's image handling because it is the paper's maths
in a few lines: the trainer, the evaluation and the engine all use the same definitions.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

EPS = 1e-5


@dataclass(frozen=True)
class StyleStats:
    mean: torch.Tensor  # (1, 512, 1, 1) float32 relu4_1 statistics
    std: torch.Tensor


def mean_std(feat: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and (biased) std over the spatial dims, shaped (N, C, 1, 1)."""
    var = feat.float().var(dim=(2, 3), keepdim=True, unbiased=False)
    return feat.float().mean(dim=(2, 3), keepdim=True), (var + eps).sqrt()


def adain_with_stats(content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor,
                     content_stats: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
    """Normalise content features by their statistics and re-scale them with the style's."""
    c_mean, c_std = content_stats if content_stats is not None else mean_std(content)
    return (content.float() - c_mean) / c_std * style_std + style_mean


def adain(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """AdaIN(x, y) = sigma(y) (x - mu(x)) / sigma(x) + mu(y)  (Huang & Belongie, eq. 8)."""
    s_mean, s_std = mean_std(style)
    return adain_with_stats(content, s_mean, s_std)


class WeightedMoments:
    """Streaming sum of w, w*f and w*f^2 per channel, so statistics can span many tiles and soft regions."""

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


def mix_styles(stats: list[StyleStats], weights: list[float] | tuple[float, ...]) -> StyleStats:
    """The paper's style interpolation: the weighted sum of the styles' means and of their stds."""
    return StyleStats(sum(wi * s.mean for wi, s in zip(weights, stats)),
                      sum(wi * s.std for wi, s in zip(weights, stats)))


def adain_target(feat: torch.Tensor, content_stats: list[tuple[torch.Tensor, torch.Tensor]],
                 targets: list[StyleStats], region: torch.Tensor | None, alpha: float) -> torch.Tensor:
    """The decoder's input t for content features `feat`.

    Each region's content statistics are replaced by its style's (AdaIN); `region` (feature-grid weights
    in [0, 1]) blends region 1 (white) with region 2 (black) or, with one target, with the unchanged
    content features; alpha blends the result with the content features (the paper's trade-off).
    """
    d = feat.device
    ts = [(feat - cm.to(d)) / cs.to(d) * s.std.to(d) + s.mean.to(d) for (cm, cs), s in zip(content_stats, targets)]
    region = region.to(d) if region is not None else None
    if region is None:
        t = ts[0]
    elif len(ts) == 1:
        t = region * ts[0] + (1 - region) * feat
    else:
        t = region * ts[0] + (1 - region) * ts[1]
    return alpha * t + (1 - alpha) * feat if alpha < 1 else t
