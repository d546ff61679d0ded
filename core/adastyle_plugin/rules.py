"""The rules every front end applies to a stylisation request, written once.

The server enforces them (through the core's StylizeRequest) and the plug-ins apply the same ones
before sending, so a user sees the problem in their dialog rather than as a server answer.
"""
from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence, Union

from adastyle_plugin import wire
from adastyle_plugin.errors import RuleError

# The limits and defaults are the wire schema's (wire.py); named here for the code that reads them.
COLOR_MODES = wire.PRESERVE_COLOR.choices or ()   # colour preservation: off, the paper's two ways
ALPHA_MIN, ALPHA_MAX = wire.ALPHA.minimum, wire.ALPHA.maximum        # content-style trade-off
SCALE_MIN, SCALE_MAX = wire.SCALE.minimum, wire.SCALE.maximum        # stroke scale: working resolution / canvas
TILE_MIN, TILE_MAX = int(wire.TILE.minimum or 0), int(wire.TILE.maximum or 0)  # tile side (0 = automatic)
STYLE_SIZE_MAX = int(wire.STYLE_SIZE.maximum or 0)  # short side a style is resized to (0 = native)
DEFAULT_STYLE_SIZE = wire.STYLE_SIZE.default
MAX_MASK_STYLES = 2                               # a mask chooses between one style and the content, or two styles
STABILITY_MAX = wire.STABILITY.maximum            # frames: the smoothing window of a sequence (0 = frame by frame)
DEFAULT_STABILITY = wire.STABILITY.default
COHERENCE_MAX = wire.COHERENCE.maximum            # weight of the previous frame carried along the motion (0 = off)
DEFAULT_COHERENCE = wire.COHERENCE.default
DEFAULT_COHERENCE_FEATURES = wire.COHERENCE_FEATURES.default  # weight of the previous AdaIN target carried along


def plural(n: int, noun: str) -> str:
    """'1 weight', '2 weights': messages read right whatever the number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def check_live_key(key: object) -> Optional[str]:
    """A live session's key (None when empty): 1 to wire.LIVE_KEY_MAX letters, digits, '-' or '_'. Why so
    narrow: the server keeps state by it and logs it, so it is an id, never free text."""
    if key is None or key == "":
        return None
    ok = isinstance(key, str) and len(key) <= wire.LIVE_KEY_MAX and \
        all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    if not ok:
        shown = repr(key[:40]) if isinstance(key, str) else type(key).__name__
        raise RuleError(f"live must be a session key of 1 to {wire.LIVE_KEY_MAX} letters, digits, '-' or '_', "
                        f"got {shown}")
    return key


def check_alpha(alpha: object) -> float:
    return wire.ALPHA.check(alpha)


def check_color_mode(mode: object) -> str:
    return wire.PRESERVE_COLOR.check(mode)


def check_scale(scale: object) -> float:
    return wire.SCALE.check(scale)


def clamp_scale(scale: float) -> float:
    """A scale forced into the allowed range (for sliders and stored settings, never for requests)."""
    return min(SCALE_MAX, max(SCALE_MIN, float(scale)))


def check_stability(stability: object) -> float:
    """The smoothing of content statistics across the frames of a sequence, in frames (0 = off)."""
    return wire.STABILITY.check(stability)


def check_coherence(coherence: object) -> float:
    """How strongly each frame of a sequence follows the previous stylised frame along the motion (0 = off)."""
    return wire.COHERENCE.check(coherence)


def check_coherence_features(strength: object) -> float:
    """How strongly each frame's AdaIN target follows the previous frame's along the motion (0 = off)."""
    return wire.COHERENCE_FEATURES.check(strength)


def check_tile(tile: object) -> Optional[int]:
    """None (automatic) for 0 or None, else the tile side."""
    if tile is None or tile == 0:
        return None
    return wire.TILE.check(tile)


def check_style_size(size: object) -> Optional[int]:
    """None (native size) for 0 or None, else the short side the style is resized to."""
    if size is None or size == 0:
        return None
    return wire.STYLE_SIZE.check(size)


def parse_weights(text: str) -> Optional[List[float]]:
    """Numbers from "0.3,0.7" (None for an empty text)."""
    text = text.strip()
    if not text:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise RuleError(f"weights must be comma-separated numbers, got {text[:60]!r}") from None


def normalise_weights(weights: Union[str, Sequence[float], None], count: int) -> List[float]:
    """One weight per style, summing to 1; equal weights when none are given."""
    if count < 1:
        raise RuleError("at least one style image is needed")
    if isinstance(weights, str):
        weights = parse_weights(weights)
    if weights is None:
        return [1.0 / count] * count
    values = [float(x) for x in weights]
    if len(values) != count:
        raise RuleError(f"weights: got {plural(len(values), 'weight')} for {plural(count, 'style')}; "
                        "give one weight per style")
    if any(not math.isfinite(x) or x < 0 for x in values) or sum(values) <= 0:
        raise RuleError("weights must be non-negative numbers with a positive sum (not all zero)")
    return [x / sum(values) for x in values]


def weights_to_send(weights: Union[str, Sequence[float], None], count: int) -> Optional[List[float]]:
    """What a plug-in sends for `count` styles: normalised weights, or None (none given: the server weighs
    the styles equally; one style: there is nothing to weigh, whatever was typed)."""
    if count < 1:
        raise RuleError("add at least one style image")
    if isinstance(weights, str):
        weights = parse_weights(weights)
    if weights is None or count < 2:
        return None
    return normalise_weights(weights, count)


def name_as_path(name: str) -> str:
    """A layer's or library entry's name in the form `style_label` takes (a path): path separators replaced, so
    that it is not cut at them, and '.png' added, so that a dotted name ('my.layer_v2') keeps its whole text."""
    return name.replace("/", "_").replace("\\", "_") + ".png"


def style_label(style_paths: Sequence[Union[str, "os.PathLike[str]"]]) -> str:
    """A result layer's name after the style file(s): 'goldfish (AdaIN)', 'castle + swamp (AdaIN)'."""
    stems = [os.path.splitext(os.path.basename(str(p)))[0] or "style" for p in style_paths]
    if len(stems) > 3:
        stems = stems[:3] + [f"{len(stems) - 3} more"]
    return " + ".join(stems) + " (AdaIN)"


def check_mask_styles(count: int, weights_given: bool) -> None:
    """With a mask: one style (white = styled) or two (white = first, black = second), and no weights."""
    if count > MAX_MASK_STYLES:
        raise RuleError("with a mask, give one style (white = styled) or two (white = first, black = second)")
    if weights_given:
        raise RuleError("weights cannot be combined with a mask: the mask chooses the style per pixel")
