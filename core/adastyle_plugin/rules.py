"""The rules every front end applies to a stylisation request, written once.

The server enforces them (through the core's StylizeRequest) and the plug-ins apply the same ones
before sending, so a user sees the problem in their dialog rather than as a server answer.
"""
from __future__ import annotations

import math
import os
from typing import List, Optional, Sequence, Union

from adastyle_plugin.errors import RuleError

COLOR_MODES = ("none", "histogram", "luminance")  # colour preservation: off, the paper's two ways
ALPHA_MIN, ALPHA_MAX = 0.0, 1.0                   # content-style trade-off
SCALE_MIN, SCALE_MAX = 0.05, 4.0                  # stroke scale: working resolution / canvas
TILE_MIN, TILE_MAX = 128, 8192                    # tile side in pixels (0 = automatic)
STYLE_SIZE_MAX = 4096                             # short side a style is resized to (0 = native)
DEFAULT_STYLE_SIZE = 512
MAX_MASK_STYLES = 2                               # a mask chooses between one style and the content, or two styles
STABILITY_MAX = 100.0                             # frames: the smoothing window of a sequence (0 = frame by frame)
DEFAULT_STABILITY = 2.0
COHERENCE_MAX = 1.0                               # weight of the previous frame carried along the motion (0 = off)
DEFAULT_COHERENCE = 0.9


def plural(n: int, noun: str) -> str:
    """'1 weight', '2 weights': messages read right whatever the number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_alpha(alpha: object) -> float:
    if not (is_number(alpha) and ALPHA_MIN <= alpha <= ALPHA_MAX):  # type: ignore[operator]
        raise RuleError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    return float(alpha)  # type: ignore[arg-type]


def check_color_mode(mode: object) -> str:
    if mode not in COLOR_MODES:
        raise RuleError(f"preserve_color (colour preservation) must be one of {', '.join(COLOR_MODES)}, got {mode!r}")
    return str(mode)


def check_scale(scale: object) -> float:
    if not (is_number(scale) and SCALE_MIN <= scale <= SCALE_MAX):  # type: ignore[operator]
        raise RuleError(f"scale must be between {SCALE_MIN:g} and {SCALE_MAX:g}, got {scale!r}")
    return float(scale)  # type: ignore[arg-type]


def clamp_scale(scale: float) -> float:
    """A scale forced into the allowed range (for sliders and stored settings, never for requests)."""
    return min(SCALE_MAX, max(SCALE_MIN, float(scale)))


def check_stability(stability: object) -> float:
    """The smoothing of content statistics across the frames of a sequence, in frames (0 = off)."""
    if not (is_number(stability) and 0 <= stability <= STABILITY_MAX):  # type: ignore[operator]
        raise RuleError(f"stability must be between 0 (frame by frame) and {STABILITY_MAX:g} frames, "
                        f"got {stability!r}")
    return float(stability)  # type: ignore[arg-type]


def check_coherence(coherence: object) -> float:
    """How strongly each frame of a sequence follows the previous stylised frame along the motion (0 = off)."""
    if not (is_number(coherence) and 0 <= coherence <= COHERENCE_MAX):  # type: ignore[operator]
        raise RuleError(f"coherence must be between 0 (frame by frame) and {COHERENCE_MAX:g}, got {coherence!r}")
    return float(coherence)  # type: ignore[arg-type]


def check_tile(tile: object) -> Optional[int]:
    """None (automatic) for 0 or None, else the tile side."""
    if tile is None or tile == 0:
        return None
    if not (isinstance(tile, int) and not isinstance(tile, bool) and TILE_MIN <= tile <= TILE_MAX):
        raise RuleError(f"tile must be 0 (automatic) or between {TILE_MIN} and {TILE_MAX} pixels, got {tile!r}")
    return tile


def check_style_size(size: object) -> Optional[int]:
    """None (native size) for 0 or None, else the short side the style is resized to."""
    if size is None or size == 0:
        return None
    if not (isinstance(size, int) and not isinstance(size, bool) and 0 < size <= STYLE_SIZE_MAX):
        raise RuleError(f"style_size must be between 0 (native) and {STYLE_SIZE_MAX}, got {size!r}")
    return size


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
