"""The one selection strategy of both plug-ins: what to send for a selection and how it shapes the result.

Strategy: send the selection's bounding box plus context (the network needs context, and statistics
from a sliver would be poor), never the selection itself; then apply the (soft) selection to the result
once, as its transparency (Krita: alpha x selection; GIMP: a layer mask from the selection, the same
blend kept editable). Why not send it as a server mask: with several weighted styles the server reads a
mask as a per-pixel choice between two styles, and a soft edge would be applied twice.
"""
from __future__ import annotations

from typing import Optional, Tuple

from adastyle_plugin.errors import RuleError

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)
FULL_IMAGE_SHARE = 0.8  # a crop covering this much of the layer saves nothing: send the whole layer


def box_size(box: Box) -> Tuple[int, int]:
    return box[2] - box[0], box[3] - box[1]


def offset_box(box: Box, dx: int, dy: int) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def clip_box(box: Box, width: int, height: int) -> Optional[Box]:
    """`box` clipped to the image, or None when nothing is left."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def mask_bbox(mask: bytes, width: int, height: int) -> Optional[Box]:
    """Bounding box of the non-zero pixels of an 8-bit mask (row-major), or None if it is empty."""
    if len(mask) != width * height:
        raise RuleError(f"mask has {len(mask)} bytes, expected {width * height}")
    rows = [y for y in range(height) if mask[y * width:(y + 1) * width].strip(b"\x00")]
    if not rows:
        return None
    x0, x1 = width, 0
    for y in rows:
        row = mask[y * width:(y + 1) * width]
        left = len(row) - len(row.lstrip(b"\x00"))
        right = len(row.rstrip(b"\x00"))
        x0, x1 = min(x0, left), max(x1, right)
    return (x0, rows[0], x1, rows[-1] + 1)


def expand_box(box: Box, margin: int, width: int, height: int) -> Box:
    """The box grown by `margin` pixels of context on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    return (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))


def context_margin(box: Box) -> int:
    """Context to send around a selection: a quarter of its size, at least 32 px (the network sees far)."""
    return max(32, (box[2] - box[0] + box[3] - box[1]) // 8)


def plan_region(width: int, height: int, selection_box: Optional[Box],
                full_share: float = FULL_IMAGE_SHARE) -> Box:
    """The part of a layer to send: the selection's box plus context, or the whole layer.

    Raises RuleError when the selection lies outside the layer.
    """
    full = (0, 0, width, height)
    if selection_box is None:
        return full
    inside = clip_box(selection_box, width, height)
    if inside is None:
        raise RuleError("the selection lies outside the layer")
    region = expand_box(inside, context_margin(inside), width, height)
    if (region[2] - region[0]) * (region[3] - region[1]) >= full_share * width * height:
        return full
    return region
