"""Pure logic of the Krita plug-in: no Krita, no Qt, so it is unit-tested outside Krita.

Everything that decides *what* to send and *what* to write back lives here (region planning,
pixel order, masking, settings parsing, error wording); the Krita modules only move bytes between
this and the Krita API. Inside Krita the client is the copy that `adastyle install-plugin` puts
beside this file; loaded by path in tests, the project's own `adastyle.client` is used instead.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

try:  # inside the installed plug-in package
    from . import adastyle_client as client
except ImportError:  # loaded by path (tests) or the package lacks the copy (a source checkout)
    from adastyle import client  # type: ignore[no-redef]

Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), image coordinates

PREVIEW_NAME = "AdaIN preview"
PREVIEW_LONG_SIDE = 512
SETTINGS_GROUP = "adastyle"
PRESERVE_CHOICES = ("none", "histogram", "luminance")
MIN_SCALE, MAX_SCALE = 0.05, 4.0  # the server's limits for `scale`
FULL_IMAGE_SHARE = 0.8  # a crop covering this much of the image is not worth it: send everything


class PluginError(Exception):
    """A problem the user can fix (wrong layer, colour depth, empty selection); shown in the status line."""


# ---- regions ---------------------------------------------------------------------------------------

def clip_box(box: Box, width: int, height: int) -> Optional[Box]:
    """`box` clipped to the image, or None when nothing is left."""
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def box_size(box: Box) -> Tuple[int, int]:
    return box[2] - box[0], box[3] - box[1]


def offset_box(box: Box, dx: int, dy: int) -> Box:
    return (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)


def plan_region(width: int, height: int, selection_box: Optional[Box]) -> Box:
    """The part of the image to send (the shared rule in client.plan_region), as a PluginError if unusable."""
    try:
        return client.plan_region(width, height, selection_box, FULL_IMAGE_SHARE)
    except ValueError as exc:
        raise PluginError(str(exc)) from None


def preview_scale(region: Box, user_scale: float, long_side: int = PREVIEW_LONG_SIDE) -> float:
    """Working scale for a preview: the region's long side brought down to `long_side` (never up).

    The server resizes to the working size, stylises and resizes back, so a preview costs about a
    512-pixel image whatever the canvas size. Strokes look larger than in the full-resolution result by
    the same factor; the preview is for colours and composition, Apply for the final texture.
    """
    w, h = box_size(region)
    factor = min(1.0, long_side / max(w, h, 1))
    return clamp_scale(user_scale * factor)


def clamp_scale(scale: float) -> float:
    return min(MAX_SCALE, max(MIN_SCALE, float(scale)))


# ---- pixels ----------------------------------------------------------------------------------------

def bgra_to_rgba(data: bytes) -> bytes:
    """Krita's 8-bit RGBA pixelData is B,G,R,A; the server wants R,G,B,A (the same swap both ways)."""
    return client.swap_red_blue(data)


rgba_to_bgra = bgra_to_rgba


def selection_bbox(mask: bytes, width: int, height: int, origin: Tuple[int, int]) -> Optional[Box]:
    """Bounding box (image coordinates) of the non-zero pixels of a mask read at `origin`."""
    box = client.mask_bbox(mask, width, height)
    return None if box is None else offset_box(box, origin[0], origin[1])


def masked_result(rgba: bytes, mask: Optional[bytes]) -> bytes:
    """The result with alpha = min(alpha, selection): the new layer shows only where the selection is.

    Chosen over the server's own mask composite because the layer then holds pure stylised pixels with
    the (soft) selection as its transparency: composited over the untouched source this is exactly the
    soft blend, the user can still change the layer's opacity or erase it, and it works with several
    weighted styles (the server reads a mask with two styles as a per-pixel style choice instead).
    """
    return rgba if mask is None else client.alpha_times_mask(rgba, mask)


style_label = client.style_label


def normalise_weights(weights: Optional[Sequence[float]], count: int) -> Optional[List[float]]:
    """Weights for `count` styles, or None for one style / equal weights; PluginError when unusable."""
    if count < 1:
        raise PluginError("add at least one style image")
    try:
        return client.parse_weights(weights, count)
    except ValueError as exc:
        raise PluginError(str(exc)) from None


def color_space_problem(model: str, depth: str) -> Optional[str]:
    """Why a layer cannot be stylised (None when it can): the plug-in reads 8-bit RGBA only.

    Converting other depths/models inside the plug-in would silently lose precision or change colours
    of the source; Krita's own conversion is explicit and undoable, so the user is pointed to it.
    """
    if model == "RGBA" and depth == "U8":
        return None
    return (f"the layer is {model}/{depth}; AdaIN Style needs 8-bit RGBA. Convert it with "
            "Image > Convert Image Color Space (RGB/Alpha, 8-bit integer) and try again")


# ---- jobs --------------------------------------------------------------------------------------------

@dataclass
class JobSpec:
    """Everything one request needs, read from Krita on the UI thread, used on a worker thread."""

    rgba: bytes                 # R,G,B,A of `box`
    box: Box                    # image coordinates of the pixels sent
    mask: Optional[bytes]       # selection over `box` (1 byte per pixel), None = no selection
    style_paths: List[str]
    weights: Optional[List[float]] = None
    alpha: float = 1.0
    preserve_color: str = "none"
    scale: float = 1.0
    preview: bool = False
    name: str = ""

    @property
    def width(self) -> int:
        return box_size(self.box)[0]

    @property
    def height(self) -> int:
        return box_size(self.box)[1]

    def request_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for Client.stylize (raw RGBA both ways; the mask is applied here, not sent)."""
        return {"rgba": (self.rgba, self.width, self.height), "weights": self.weights, "alpha": self.alpha,
                "preserve_color": self.preserve_color, "scale": self.scale, "result_format": "rgba"}


def build_spec(rgba: bytes, box: Box, mask: Optional[bytes], style_paths: Sequence[str], *,
               weights: Optional[Sequence[float]] = None, alpha: float = 1.0, preserve_color: str = "none",
               scale: float = 1.0, preview: bool = False) -> JobSpec:
    """A checked JobSpec; PluginError for anything the server would refuse anyway (clearer here)."""
    paths = [str(p) for p in style_paths]
    w = normalise_weights(weights, len(paths))
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise PluginError(f"style image not found: {missing[0]}")
    if not (isinstance(alpha, (int, float)) and 0.0 <= float(alpha) <= 1.0):
        raise PluginError(f"alpha must be between 0 and 1, got {alpha!r}")
    if preserve_color not in PRESERVE_CHOICES:
        raise PluginError(f"colour preservation must be one of {', '.join(PRESERVE_CHOICES)}")
    bw, bh = box_size(box)
    if len(rgba) != bw * bh * 4:
        raise PluginError(f"read {len(rgba)} bytes for a {bw}x{bh} region")
    if mask is not None and len(mask) != bw * bh:
        raise PluginError(f"read {len(mask)} selection bytes for a {bw}x{bh} region")
    s = preview_scale(box, scale) if preview else clamp_scale(scale)
    return JobSpec(rgba=rgba, box=box, mask=mask, style_paths=paths, weights=w, alpha=float(alpha),
                   preserve_color=preserve_color, scale=s, preview=preview,
                   name=PREVIEW_NAME if preview else style_label(paths))


def finish_pixels(spec: JobSpec, result: bytes, headers: Dict[str, str]) -> bytes:
    """Server RGBA -> masked BGRA for Krita, after checking the size the server reports."""
    width = int(headers.get("X-Width") or headers.get("x-width") or spec.width)
    height = int(headers.get("X-Height") or headers.get("x-height") or spec.height)
    if (width, height) != (spec.width, spec.height) or len(result) != spec.width * spec.height * 4:
        raise client.AdaStyleError(f"the server answered a {width}x{height} image ({len(result)} bytes) "
                                   f"for a {spec.width}x{spec.height} region")
    return rgba_to_bgra(masked_result(result, spec.mask))


def run_job(api: "client.Client", spec: JobSpec, progress: Optional[Callable[[float], None]] = None,
            should_cancel: Optional[Callable[[], bool]] = None) -> bytes:
    """Send the job and wait; returns BGRA pixels for `spec.box`. Thread-safe: no Krita, no Qt."""
    data, headers = api.stylize(None, spec.style_paths, progress=progress, should_cancel=should_cancel,
                                **spec.request_kwargs())
    return finish_pixels(spec, data, headers)


def friendly_error(exc: BaseException) -> str:
    """One line for the status line, whatever went wrong (never a traceback dialog)."""
    if isinstance(exc, client.JobCancelled):
        return "Cancelled."
    if isinstance(exc, client.ServerUnavailable):
        return "Server not connected: " + exc.message
    if isinstance(exc, client.AdaStyleError):
        return "Error: " + exc.message
    if isinstance(exc, PluginError):
        return "Cannot run: " + str(exc)
    return f"Unexpected error: {type(exc).__name__}: {exc}"


# ---- settings ----------------------------------------------------------------------------------------

@dataclass
class Settings:
    """What the docker remembers between sessions (stored as strings in kritarc's [adastyle] group)."""

    styles: List[str] = field(default_factory=list)
    weights: List[float] = field(default_factory=list)
    alpha: float = 1.0
    preserve_color: str = "none"
    use_selection: bool = True
    scale: float = 1.0
    server_url: str = ""  # empty = from the plug-in's settings file / ADASTYLE_URL

    @classmethod
    def load(cls, read: Callable[[str, str], str]) -> "Settings":
        """From `read(key, default) -> str`; any unreadable value falls back to its default."""
        d = cls()

        def number(key: str, default: float, lo: float, hi: float) -> float:
            try:
                v = float(read(key, str(default)))
            except (TypeError, ValueError):
                return default
            return min(hi, max(lo, v)) if math.isfinite(v) else default

        def json_list(key: str) -> List[Any]:
            try:
                v = json.loads(read(key, "[]") or "[]")
            except (TypeError, ValueError):
                return []
            return v if isinstance(v, list) else []

        styles = [str(s) for s in json_list("styles") if isinstance(s, str) and s]
        weights: List[float] = []
        for w in json_list("weights"):
            try:
                weights.append(max(0.0, float(w)))
            except (TypeError, ValueError):
                weights.append(1.0)
        weights = (weights + [1.0] * len(styles))[:len(styles)]
        preserve = read("preserve_color", d.preserve_color)
        return cls(styles=styles, weights=weights, alpha=number("alpha", d.alpha, 0.0, 1.0),
                   preserve_color=preserve if preserve in PRESERVE_CHOICES else d.preserve_color,
                   use_selection=str(read("use_selection", "true")).strip().lower() not in ("false", "0", "no"),
                   scale=number("scale", d.scale, MIN_SCALE, MAX_SCALE),
                   server_url=str(read("server_url", "") or "").strip())

    def dump(self) -> Dict[str, str]:
        """key -> string, as Krita's writeSetting stores it."""
        d = asdict(self)
        return {"styles": json.dumps(d["styles"]), "weights": json.dumps(d["weights"]),
                "alpha": repr(float(self.alpha)), "preserve_color": self.preserve_color,
                "use_selection": "true" if self.use_selection else "false", "scale": repr(float(self.scale)),
                "server_url": self.server_url}

    def save(self, write: Callable[[str, str], None]) -> None:
        for key, value in self.dump().items():
            write(key, value)
