"""Synthetic styles: more kinds of art than the packages hold, made from the images we have.

Why: a decoder only learns to reach the feature statistics of the styles it sees. Sketches, line art,
monochrome and inverted (light on dark) pictures are rare in our packages, and the decoder failed on them
(content colours leaking through a grey pencil sketch). Cheap pixel transforms of real art and photos fill
those corners of statistics space: grey-scale, inverted, posterised, high-contrast and hue-rotated versions
of style images, and pencil-like drawings made from photos (edges on paper).
"""
from __future__ import annotations

import random

import torch
from torchvision.transforms.v2 import functional as TF

VARIANTS = ("grey", "invert", "posterise", "contrast", "hue", "grey_invert")


def style_variant(img: torch.Tensor, kind: str, rng: random.Random) -> torch.Tensor:
    """One transformed copy of a uint8 CHW style image."""
    if kind == "grey":
        return TF.rgb_to_grayscale(img, num_output_channels=3)
    if kind == "invert":
        return TF.invert(img)
    if kind == "grey_invert":
        return TF.invert(TF.rgb_to_grayscale(img, num_output_channels=3))
    if kind == "posterise":
        return TF.posterize(img, rng.choice((1, 2, 3)))
    if kind == "contrast":
        return TF.adjust_contrast(img, rng.uniform(1.8, 3.0))
    if kind == "hue":
        return TF.adjust_hue(img, rng.uniform(-0.5, 0.5))
    raise ValueError(f"unknown variant {kind!r}")


def pencil_sketch(photo: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """A pencil-like drawing of a uint8 CHW photo: grey strokes where the photo has edges, on light paper.

    The classic colour-dodge sketch: grey / (1 - blurred inverted grey) keeps the paper white where the
    picture is flat and darkens along edges; a gamma sets how heavy the strokes are, and a paper tone tints it.
    """
    grey = TF.rgb_to_grayscale(photo).float() / 255.0
    sigma = rng.uniform(1.5, 4.0)
    k = int(sigma * 3) * 2 + 1
    blur = TF.gaussian_blur((1.0 - grey)[None], [k, k], [sigma, sigma])[0]
    dodge = (grey / (1.0 - blur).clamp_min(1e-3)).clamp(0, 1)
    dodge = dodge ** rng.uniform(1.5, 4.0)   # darker, bolder strokes
    paper = torch.tensor([rng.uniform(0.93, 1.0), rng.uniform(0.9, 0.98), rng.uniform(0.82, 0.95)]).view(3, 1, 1)
    ink = torch.tensor([rng.uniform(0.0, 0.25)] * 3).view(3, 1, 1)
    out = ink + (paper - ink) * dodge
    return (out * 255).round().clamp(0, 255).to(torch.uint8)


def mix_statistics(stats_a: list[tuple[torch.Tensor, torch.Tensor]], stats_b: list[tuple[torch.Tensor, torch.Tensor]],
                   w: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A style between two styles: per tap, mean and std interpolated with weight w on the first.

    Why: it is what a user gets from two styles with weights (AdaIN interpolates the statistics), and it fills
    the space between the styles we have.
    """
    return [(w * ma + (1 - w) * mb, w * sa + (1 - w) * sb) for (ma, sa), (mb, sb) in zip(stats_a, stats_b)]
