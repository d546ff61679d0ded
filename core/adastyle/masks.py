"""Spatial control on the feature grid: soft pixel masks brought down to per-region feature weights.

As the AdaIN paper's spatial control: content features of each region are normalised with that
region's own statistics (weighted by the soft mask, so a feathered edge blends; see
adain.WeightedMoments), then given the region's style statistics. Transparent pixels (RGBA) get weight
0 so they do not pollute statistics. Fitting a mask to the content is a request rule (request.fit_mask).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def feature_weights(pixel_weights: torch.Tensor, feat_hw: tuple[int, int]) -> torch.Tensor:
    """Average a (1, 1, H, W) pixel weight map down to the feature grid (area average)."""
    return F.adaptive_avg_pool2d(pixel_weights, feat_hw)
