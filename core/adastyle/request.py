"""`StyleOptions` and `StylizeRequest`: how to stylise, validated once, and one content with those options.

Every front end (the server's form parsing, the web page, the CLI, batch runs on one machine or on Ray,
sequences of frames) builds one `StyleOptions` and one `StylizeRequest` per content; the job queue
carries the request as it is; `Stylizer.run` and `Stylizer.measure` take it. Because they check
themselves when they are made, a bad value is refused where the user gave it, and nothing after them
re-checks or fills defaults again.
The rules themselves (limits, colour modes, weights) live in `adastyle_plugin.rules`, shared with the
plug-ins.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from adastyle.errors import UserError
from adastyle.imageio import ImageError, ImageLike, to_pil
from adastyle_plugin import rules
from adastyle_plugin.errors import RuleError


class RequestError(UserError):
    """A bad parameter (alpha, weights, colour mode, scale, tile ...), with a message for users."""


class MaskError(UserError):
    """A mask that does not fit the content (or selects nothing)."""


class MaskMismatch(MaskError):
    """A mask whose size (or aspect ratio) does not match the content's."""


class ShapeError(RequestError):
    """An image too thin for the network: one side over MAX_ASPECT times the other (refused, never stretched)."""


MIN_SIDE = 32          # the network's smallest side: smaller images are upscaled to it (VGG pools 3 times)
MAX_STYLE_SIDE = 2048  # a native-size style is capped here (statistics do not need more)
MAX_ASPECT = 64        # longest side / shortest side an image may have


def check_shape(size: tuple[int, int], name: str = "image") -> None:
    """ShapeError for an image over MAX_ASPECT:1. Why: the engine works on no less than MIN_SIDE pixels
    across, so a 1 x 300,000 strip would become 32 x 9,600,000 pixels of work from a 1 KB file."""
    w, h = size
    if w >= 1 and h >= 1 and max(w, h) > MAX_ASPECT * min(w, h):
        raise ShapeError(f"{name}: {w}x{h} is too thin (its sides are over {MAX_ASPECT}:1); crop or pad it")


def content_work_size(size: tuple[int, int], scale: float = 1.0) -> tuple[int, int]:
    """The size the engine works at for a content of `size` at stroke `scale`: scaled, then enlarged until its
    short side is MIN_SIDE. Budgets and limits are checked against this, not the file's size."""
    w, h = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
    up = max(1.0, MIN_SIDE / min(w, h))
    return round(w * up), round(h * up)


def style_work_size(size: tuple[int, int], style_size: int | None) -> tuple[int, int]:
    """The size a style of `size` is encoded at: its short side at `style_size` (no less than MIN_SIDE per
    side), or, native (None), no more than MAX_STYLE_SIDE on its long side."""
    w, h = size
    if style_size:
        s = style_size / min(w, h)
        return max(MIN_SIDE, round(w * s)), max(MIN_SIDE, round(h * s))
    if max(w, h) > MAX_STYLE_SIDE:
        s = MAX_STYLE_SIDE / max(w, h)
        return max(1, int(w * s)), max(1, int(h * s))
    return w, h


def fit_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The mask as 8-bit grey at `size`; resized only when its aspect ratio matches (within 1%)."""
    grey = grey_mask(mask)
    if grey.size == size:
        return grey
    mw, mh = grey.size
    cw, ch = size
    if abs(mw / mh - cw / ch) > 0.01 * (cw / ch):
        raise MaskMismatch(f"mask is {mw}x{mh} but the content is {cw}x{ch} (sizes or aspect ratios must match)")
    return grey.resize(size, Image.Resampling.BILINEAR)


def check_options(n_styles: int, *, weights: Sequence[float] | None = None, alpha: float = 1.0,
                  preserve_color: str | None = "none", scale: float = 1.0, tile: int | None = None,
                  style_size: int | None = rules.DEFAULT_STYLE_SIZE, has_mask: bool = False) -> dict:
    """The options of a request, checked and normalised (RequestError otherwise), for front ends that check
    them before they have the content (a batch run reads its frames later); StylizeRequest uses it too.

    Returns weights (one per style summing to 1, or None with a mask), alpha, preserve_color, scale,
    tile (None = automatic) and style_size (None = native).
    """
    try:
        if n_styles < 1:
            raise RuleError("at least one style image is needed")
        checked = {"alpha": rules.check_alpha(alpha), "preserve_color": rules.check_color_mode(preserve_color or "none"),
                   "scale": rules.check_scale(scale), "tile": rules.check_tile(tile),
                   "style_size": rules.check_style_size(style_size)}
        if has_mask:
            rules.check_mask_styles(n_styles, weights is not None)
            checked["weights"] = None
        else:
            checked["weights"] = tuple(rules.normalise_weights(weights, n_styles))
    except RuleError as exc:
        raise RequestError(exc.message) from None
    return checked


def check_sequence(stability: float, coherence: float,
                   coherence_features: float = rules.DEFAULT_COHERENCE_FEATURES) -> tuple[float, float, float]:
    """A sequence's stability (frames), coherence and feature coherence, checked (RequestError otherwise): the
    one check of them, for every front end that stylises sequences (`SequenceRequest` for the server's sequence
    jobs, `adastyle batch` before it loads the model)."""
    try:
        return (rules.check_stability(stability), rules.check_coherence(coherence),
                rules.check_coherence_features(coherence_features))
    except RuleError as exc:
        raise RequestError(exc.message) from None


def grey_mask(mask: Image.Image) -> Image.Image:
    """A mask as 8-bit grey: a painted layer's alpha (where the user painted), else its luminance."""
    try:
        return mask.getchannel("A") if mask.mode in ("RGBA", "LA") else mask.convert("L")
    except ValueError:  # modes Pillow cannot turn into grey (LAB, HSV, ...)
        raise MaskError(f"a mask of colour mode {mask.mode} cannot be used; send a greyscale or RGB mask") from None


@dataclass(frozen=True, eq=False)  # compared by identity: no pixel-by-pixel equality
class StyleOptions:
    """How to stylise, whatever the content: the styles and every control, checked once when made.

    Why a type of its own: a batch run, a Ray cluster and a sequence of frames stylise many contents with one
    set of options; the options are checked once, where the user gave them, and travel as they are (frozen,
    picklable: PIL images and plain numbers) to every frame's `StylizeRequest`.

    After construction: `styles` is a tuple of PIL images; `weights` one weight per style summing to 1, or
    None when a mask chooses the style per pixel; `mask` 8-bit grey (white = styled with one style, first
    style with two), fitted to each content by the request; `style_size` None = native size; `tile` None =
    automatic. alpha: content-style trade-off in [0, 1]; scale: working resolution / canvas.
    """

    styles: Sequence[ImageLike] | ImageLike
    weights: Sequence[float] | None = None
    alpha: float = 1.0
    preserve_color: str | None = "none"
    mask: ImageLike | None = None
    scale: float = 1.0
    style_size: int | None = rules.DEFAULT_STYLE_SIZE
    tile: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: the normalised values are written once, here
        styles = [self.styles] if isinstance(self.styles, (Image.Image, np.ndarray)) else list(self.styles)
        checked = check_options(len(styles), weights=self.weights, alpha=self.alpha,
                                preserve_color=self.preserve_color, scale=self.scale, tile=self.tile,
                                style_size=self.style_size, has_mask=self.mask is not None)
        pil_styles = tuple(to_pil(s) for s in styles)
        for i, style in enumerate(pil_styles):
            check_shape(style.size, f"style {i + 1}")
        mask = grey_mask(to_pil(self.mask)) if self.mask is not None else None
        if mask is not None and len(styles) == 1 and mask.getextrema() == (0, 0):
            raise MaskError("the mask is completely black: nothing would be stylised")
        set_(self, "styles", pil_styles)
        set_(self, "mask", mask)
        for name, value in checked.items():
            set_(self, name, value)

    @property
    def keeps_content_chroma(self) -> bool:
        """Colour mode luminance: the network sees the content's luminance only, and every output (an image, each
        frame of a sequence after its chain) takes its own content's chroma back. One place decides it."""
        return self.preserve_color == "luminance"

    @property
    def recolours_styles(self) -> bool:
        """Colour mode histogram: each style is recoloured to the content's colour mean and covariance before
        it is encoded, so the content's colour statistics are measured for it."""
        return self.preserve_color == "histogram"

    @classmethod
    def of(cls, options: StyleOptions | Sequence[ImageLike] | ImageLike, **option_fields: Any) -> StyleOptions:
        """`options` when it is a StyleOptions already, else the StyleOptions of these styles and keywords: the
        two ways a request or a sequence may be given its options."""
        if not isinstance(options, StyleOptions):
            return cls(options, **option_fields)
        if option_fields:
            raise TypeError("give the options either as a StyleOptions or as keywords, not both")
        return options


@dataclass(frozen=True, eq=False, init=False)  # compared by identity: no pixel-by-pixel equality
class StylizeRequest:
    """One content and the options to stylise it with; made once, never changed.

    `StylizeRequest(content, options)` with a StyleOptions, or `StylizeRequest(content, styles, alpha=...,
    ...)`, which makes the StyleOptions from the same keywords. After construction `content` is a PIL image
    and `mask` is the options' mask fitted to the content's size (None without one).
    """

    content: Image.Image
    options: StyleOptions
    mask: Image.Image | None = field(init=False)

    def __init__(self, content: ImageLike, options: StyleOptions | Sequence[ImageLike] | ImageLike,
                 **option_fields: Any) -> None:
        options = StyleOptions.of(options, **option_fields)
        pil = to_pil(content)
        if pil.width < 1 or pil.height < 1:
            raise ImageError("content image has zero size")
        check_shape(pil.size, "content")
        set_ = object.__setattr__
        set_(self, "content", pil)
        set_(self, "options", options)
        set_(self, "mask", fit_mask(options.mask, pil.size) if options.mask is not None else None)

    @property
    def work_size(self) -> tuple[int, int]:
        """The size the engine works at (content_work_size of the content at the options' scale)."""
        return content_work_size(self.content.size, self.options.scale)

    @property
    def work_pixels(self) -> int:
        """Pixels the engine works on (content x scale^2, short side at least MIN_SIDE): what pixel limits are
        checked against."""
        w, h = self.work_size
        return w * h
