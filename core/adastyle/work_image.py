"""A request's content made ready for the networks, and the decoded work image made back into the result.

Why a module of its own: both of the Stylizer's pipelines (`run`, `measure`) start from the same working image
(scaled, transparent pixels filled, colour references taken), and `run` ends by undoing what was done for the
networks (size, chroma, unmasked pixels, alpha); none of it needs the networks or the Stylizer's caches.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from adastyle import color
from adastyle.content_stats import ContentStats
from adastyle.imageio import split_alpha
from adastyle.request import StylizeRequest


@dataclass(frozen=True)
class WorkImage:
    """A request's content made ready for the networks: what both pipelines start from.

    rgb/alpha: the content split at full size; net_in: what the encoder sees, at the working size;
    opacity/region: per-pixel weights of the content statistics at the working size (None = all 1);
    colour/luminance: what colour preservation matches the styles to (None when it does not);
    fill: the colour fully transparent pixels were given in net_in (None: there were none, or none visible).
    """
    rgb: Image.Image
    alpha: Image.Image | None
    net_in: Image.Image
    opacity: torch.Tensor | None
    region: torch.Tensor | None
    colour: tuple[np.ndarray, np.ndarray] | None
    luminance: tuple[float, float] | None
    fill: tuple[int, int, int] | None = None


def prepare(r: StylizeRequest, given: ContentStats | None) -> WorkImage:
    """The working image (scaled, transparent pixels filled), the pixel weights and the colour references
    (from `given` statistics when there are some: a smoothed sequence keeps one colour reference, a live
    canvas its last full render's references and fill colour)."""
    rgb, alpha_ch = split_alpha(r.content)
    work_size = r.work_size  # the size admission charged for
    fill = None
    if alpha_ch is not None:
        visible, fill = fill_transparent(rgb, alpha_ch, given.fill if given is not None else None)
    else:
        visible = rgb
    work = visible if work_size == rgb.size else visible.resize(work_size, Image.Resampling.LANCZOS)
    net_in = color.luminance(work) if r.options.keeps_content_chroma else work
    if given is not None:
        colour, luminance = given.colour, given.luminance
    else:
        colour = color.colour_stats(work) if r.options.recolours_styles else None
        luminance = color.luminance_stats(net_in) if r.options.keeps_content_chroma else None

    def to_weight(img: Image.Image | None) -> torch.Tensor | None:
        if img is None:
            return None
        g = img if img.size == work_size else img.resize(work_size, Image.Resampling.BILINEAR)
        return torch.from_numpy(np.asarray(g, dtype=np.float32) / 255.0)[None, None]

    return WorkImage(rgb, alpha_ch, net_in, to_weight(alpha_ch), to_weight(r.mask), colour, luminance, fill)


def finish(r: StylizeRequest, work: WorkImage, out: Image.Image) -> Image.Image:
    """The decoded work image back at the content's size, chroma, unmasked pixels and alpha."""
    if out.size != work.rgb.size:
        out = out.resize(work.rgb.size, Image.Resampling.LANCZOS)
    if r.options.keeps_content_chroma:
        out = color.keep_content_chroma(out, work.rgb)
    if r.mask is not None and len(r.options.styles) == 1:
        out = Image.composite(out, work.rgb, r.mask)  # exact original where the mask is black
    if work.alpha is not None:
        out = out.convert("RGBA")
        out.putalpha(work.alpha)
    return out


def fill_transparent(rgb: Image.Image, alpha: Image.Image, colour: tuple[int, int, int] | None = None
                     ) -> tuple[Image.Image, tuple[int, int, int] | None]:
    """RGB with fully transparent pixels set to the mean visible colour (or `colour` when given), and the colour
    used (None when no pixel was filled).

    Why: the colour under alpha 0 is arbitrary (often black or leftovers) and would reach visible pixels
    through the network's receptive field; the statistics already ignore it. A given colour keeps it from
    moving with every stroke of a live canvas (a stroke would otherwise change every hidden pixel).
    """
    a = np.asarray(alpha)
    hidden = a == 0
    if not hidden.any() or hidden.all():
        return rgb, None
    px = np.array(rgb, dtype=np.uint8)
    if colour is None:
        colour = tuple(int(c) for c in px[~hidden].reshape(-1, 3).mean(axis=0).round())  # type: ignore[assignment]
    px[hidden] = np.asarray(colour, np.uint8)
    return Image.fromarray(px, "RGB"), colour
