"""Pure logic of the Krita plug-in: no Krita, no Qt, so it is unit-tested outside Krita.

Everything that decides *what* to send and *what* to write back lives here (region planning,
pixel order, masking, settings parsing, error wording); the Krita modules only move bytes between
this and the Krita API. The shared rules, the selection strategy and the HTTP client come from the
`adastyle_plugin` toolkit, which `adastyle install-plugin` puts beside this package.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from adastyle_plugin import http, pixels, rules, selection, wire
from adastyle_plugin.errors import JobCancelled, PluginError, ServerUnavailable
from adastyle_plugin.library import LIB_PREFIX
from adastyle_plugin.live import DEFAULT_PREVIEW_SIDE
from adastyle_plugin.selection import Box, box_size, clip_box, offset_box, plan_region

__all__ = ["PluginError", "Box", "box_size", "clip_box", "offset_box", "plan_region"]

PREVIEW_NAME = "AdaIN preview"
PREVIEW_LONG_SIDE = DEFAULT_PREVIEW_SIDE
LIVE_SIDE_MIN, LIVE_SIDE_MAX = 128, 2048  # live mode's preview size (long side), in pixels
SETTINGS_GROUP = "adastyle"
PRESERVE_CHOICES = rules.COLOR_MODES
# The spin boxes' ranges and the settings' defaults: the wire schema's (what the server accepts).
MIN_SCALE, MAX_SCALE = wire.SCALE.minimum, wire.SCALE.maximum
STABILITY_RANGE = (wire.STABILITY.minimum, wire.STABILITY.maximum)
COHERENCE_RANGE = (wire.COHERENCE.minimum, wire.COHERENCE.maximum)
COHERENCE_FEATURES_RANGE = (wire.COHERENCE_FEATURES.minimum, wire.COHERENCE_FEATURES.maximum)


def preview_scale(region: Box, user_scale: float, long_side: int = PREVIEW_LONG_SIDE) -> float:
    """Working scale for a preview: the region's long side brought down to `long_side` (never up).

    The server resizes to the working size, stylises and resizes back, so a preview costs about a
    512-pixel image whatever the canvas size. Strokes look larger than in the full-resolution result by
    the same factor; the preview is for colours and composition, Apply for the final texture.
    """
    w, h = box_size(region)
    factor = min(1.0, long_side / max(w, h, 1))
    return clamp_scale(user_scale * factor)


clamp_scale = rules.clamp_scale


# ---- pixels ----------------------------------------------------------------------------------------

def bgra_to_rgba(data: bytes) -> bytes:
    """Krita's 8-bit RGBA pixelData is B,G,R,A; the server wants R,G,B,A (the same swap both ways)."""
    return pixels.swap_red_blue(data)


rgba_to_bgra = bgra_to_rgba


def selection_bbox(mask: bytes, width: int, height: int, origin: Tuple[int, int]) -> Optional[Box]:
    """Bounding box (image coordinates) of the non-zero pixels of a mask read at `origin`."""
    box = selection.mask_bbox(mask, width, height)
    return None if box is None else offset_box(box, origin[0], origin[1])


def masked_result(rgba: bytes, mask: Optional[bytes]) -> bytes:
    """The result with alpha = min(alpha, selection): the new layer shows only where the selection is.

    Chosen over the server's own mask composite because the layer then holds pure stylised pixels with
    the (soft) selection as its transparency: composited over the untouched source this is exactly the
    soft blend, the user can still change the layer's opacity or erase it, and it works with several
    weighted styles (the server reads a mask with two styles as a per-pixel style choice instead).
    """
    return rgba if mask is None else pixels.alpha_times_mask(rgba, mask)


normalise_weights = rules.weights_to_send  # None for one style / equal weights; RuleError (a PluginError)


def is_library_style(style: str) -> bool:
    """Whether a docker style is a library entry (`lib:<id>`) rather than an image file."""
    return style.lower().startswith(LIB_PREFIX)


def split_styles(styles: Sequence[str], weights: Optional[Sequence[float]]
                 ) -> Tuple[List[str], List[str], Optional[List[float]]]:
    """(files, library ids, weights) with the files first, as the server reads a job's styles.

    The docker keeps one list in the user's order, files and library styles mixed; the request sends
    `style` files before `style_id` fields, so the weights are reordered to follow; files must exist.
    """
    order = [i for i, st in enumerate(styles) if not is_library_style(st)]
    order += [i for i, st in enumerate(styles) if is_library_style(st)]
    files = [str(styles[i]) for i in order if not is_library_style(styles[i])]
    ids = [str(styles[i]) for i in order if is_library_style(styles[i])]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise PluginError(f"style image not found: {missing[0]}")
    w = normalise_weights(weights, len(order))  # checked in the user's order, so messages count as they do
    return files, ids, None if w is None else [w[i] for i in order]


def preset_styles(styles: Sequence[str], weights: Sequence[float]) -> List[Tuple[str, float]]:
    """(library id, weight) of every chosen style, for "Save as preset"; a preset names library styles only."""
    if not styles:
        raise PluginError("choose library styles first, then save them as a preset")
    files = [st for st in styles if not is_library_style(st)]
    if files:
        raise PluginError(f"a preset holds library styles only: add {os.path.basename(files[0])} to the library "
                          "first (Add file to library)")
    return [(st[len(LIB_PREFIX):], float(w)) for st, w in zip(styles, weights)]


def style_label(styles: Sequence[str], library_names: Optional[Mapping[str, str]] = None) -> str:
    """A layer name after the styles: files by their name, library styles by their entry's name
    (`library_names`, id -> name, from the listing; by their id when not listed)."""
    names = library_names or {}

    def label(st: str) -> str:
        entry_id = st[len(LIB_PREFIX):]
        return rules.name_as_path(names.get(entry_id, entry_id)) if is_library_style(st) else st

    return rules.style_label([label(st) for st in styles])


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
    weights: Optional[List[float]] = None  # files first, then library styles
    alpha: float = 1.0
    preserve_color: str = "none"
    scale: float = 1.0
    preview: bool = False
    name: str = ""
    style_ids: List[str] = field(default_factory=list)  # library styles, `lib:<id>`, sent after the files

    @property
    def width(self) -> int:
        return box_size(self.box)[0]

    @property
    def height(self) -> int:
        return box_size(self.box)[1]

    def request_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for Client.stylize (raw RGBA both ways; the mask is applied here, not sent)."""
        return {"rgba": (self.rgba, self.width, self.height), "weights": self.weights, "alpha": self.alpha,
                "preserve_color": self.preserve_color, "scale": self.scale, "result_format": "rgba",
                "style_ids": self.style_ids}


def build_spec(rgba: bytes, box: Box, mask: Optional[bytes], style_paths: Sequence[str], *,
               weights: Optional[Sequence[float]] = None, alpha: float = 1.0, preserve_color: str = "none",
               scale: float = 1.0, preview: bool = False, preview_side: int = PREVIEW_LONG_SIDE,
               library_names: Optional[Mapping[str, str]] = None) -> JobSpec:
    """A checked JobSpec; PluginError for anything the server would refuse anyway (clearer here).

    `style_paths` are image files and library styles (`lib:<id>`) in any order; `library_names` (id -> name)
    name the new layer after the library entries.
    """
    paths, ids, w = split_styles([str(p) for p in style_paths], weights)
    alpha = rules.check_alpha(alpha)
    preserve_color = rules.check_color_mode(preserve_color)
    bw, bh = box_size(box)
    if len(rgba) != bw * bh * 4:
        raise PluginError(f"read {len(rgba)} bytes for a {bw}x{bh} region")
    if mask is not None and len(mask) != bw * bh:
        raise PluginError(f"read {len(mask)} selection bytes for a {bw}x{bh} region")
    s = preview_scale(box, scale, preview_side) if preview else clamp_scale(scale)
    return JobSpec(rgba=rgba, box=box, mask=mask, style_paths=paths, weights=w, alpha=float(alpha),
                   preserve_color=preserve_color, scale=s, preview=preview, style_ids=ids,
                   name=PREVIEW_NAME if preview else style_label(paths + ids, library_names))


def finish_pixels(spec: JobSpec, result: bytes, headers: Dict[str, str]) -> bytes:
    """Server RGBA -> masked BGRA for Krita, after checking the size the server reports."""
    pixels.check_answer(result, headers, spec.width, spec.height)
    return rgba_to_bgra(masked_result(result, spec.mask))


def run_job(api: "http.Client", spec: JobSpec, progress: Optional[Callable[[float], None]] = None,
            should_cancel: Optional[Callable[[], bool]] = None) -> bytes:
    """Send the job and wait; returns BGRA pixels for `spec.box`. Thread-safe: no Krita, no Qt."""
    data, headers = api.stylize(None, spec.style_paths, progress=progress, should_cancel=should_cancel,
                                **spec.request_kwargs())
    return finish_pixels(spec, data, headers)


# ---- animation: every keyframe of a layer as one stabilised sequence ---------------------------------

MAX_KEYFRAME_SCAN = 100_000  # times looked at for keyframes (frames of the animation), a bound on the scan


def keyframe_times(has_keyframe: Callable[[int], bool], last_time: int) -> List[int]:
    """The times 0..last_time at which a layer has a keyframe, in order (Krita has no list of them)."""
    return [t for t in range(0, min(last_time, MAX_KEYFRAME_SCAN) + 1) if has_keyframe(t)]


@dataclass
class FramesSpec:
    """Every keyframe of an animated layer, read on the UI thread, sent as ONE sequence from a worker thread.

    Whole frames (the canvas), not the selection: the statistics of all frames are smoothed together,
    and the new layer must hold every keyframe whole.
    """

    frames: List[bytes]         # R,G,B,A of each keyframe over the canvas, in time order
    times: List[int]            # the keyframes' times (frames of the animation)
    size: Tuple[int, int]       # canvas width, height
    style_paths: List[str]
    weights: Optional[List[float]] = None
    alpha: float = 1.0
    preserve_color: str = "none"
    scale: float = 1.0
    stability: float = rules.DEFAULT_STABILITY
    coherence: float = rules.DEFAULT_COHERENCE
    coherence_features: float = rules.DEFAULT_COHERENCE_FEATURES
    name: str = ""
    style_ids: List[str] = field(default_factory=list)  # library styles, sent after the files

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]

    preview = False  # what the controller asks of a job

    def request_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for Client.stylize_sequence (raw RGBA both ways)."""
        return {"size": self.size, "stability": self.stability, "coherence": self.coherence,
                "coherence_features": self.coherence_features,
                "weights": self.weights, "alpha": self.alpha,
                "preserve_color": self.preserve_color, "scale": self.scale, "result_format": "rgba",
                "style_ids": self.style_ids}


def build_frames_spec(frames: Sequence[bytes], times: Sequence[int], size: Tuple[int, int],
                      style_paths: Sequence[str], *, weights: Optional[Sequence[float]] = None, alpha: float = 1.0,
                      preserve_color: str = "none", scale: float = 1.0,
                      stability: float = rules.DEFAULT_STABILITY, coherence: float = rules.DEFAULT_COHERENCE,
                      coherence_features: float = rules.DEFAULT_COHERENCE_FEATURES,
                      layer_name: str = "", library_names: Optional[Mapping[str, str]] = None) -> FramesSpec:
    """A checked FramesSpec; PluginError for what the server would refuse anyway (clearer here)."""
    paths, ids, w = split_styles([str(p) for p in style_paths], weights)
    if not frames:
        raise PluginError(f"'{layer_name}' has no keyframes to stylise")
    if len(frames) != len(times):
        raise PluginError(f"read {len(frames)} frames for {len(times)} keyframes")
    for i, f in enumerate(frames):
        if len(f) != size[0] * size[1] * 4:
            raise PluginError(f"read {len(f)} bytes for keyframe {times[i]} of a {size[0]}x{size[1]} canvas")
    return FramesSpec(frames=list(frames), times=list(times), size=size, style_paths=paths, weights=w,
                      alpha=rules.check_alpha(alpha), preserve_color=rules.check_color_mode(preserve_color),
                      scale=clamp_scale(scale), stability=rules.check_stability(stability),
                      coherence=rules.check_coherence(coherence),
                      coherence_features=rules.check_coherence_features(coherence_features), style_ids=ids,
                      name=(f"{layer_name} - " if layer_name else "") + style_label(paths + ids, library_names))


def run_frames_job(api: "http.Client", spec: FramesSpec, progress: Optional[Callable[[float], None]] = None,
                   should_cancel: Optional[Callable[[], bool]] = None) -> List[bytes]:
    """Send every keyframe as one sequence and wait; returns BGRA pixels per keyframe. No Krita, no Qt."""
    answers = api.stylize_sequence(spec.frames, spec.style_paths, progress=progress, should_cancel=should_cancel,
                                   **spec.request_kwargs())
    if len(answers) != len(spec.frames):
        raise PluginError(f"the server answered {len(answers)} frames for {len(spec.frames)}")
    out = []
    for data, headers in answers:
        pixels.check_answer(data, headers, spec.width, spec.height)
        out.append(rgba_to_bgra(data))
    return out


def live_status(state: str, last_latency: Optional[float], error: Optional[str]) -> str:
    """The live-mode line: its state, then the last problem or how long the last preview took after its stroke."""
    line = f"Live: {state}"
    if error:
        return f"{line} · {error}"
    if last_latency is not None:
        return f"{line} · last preview {last_latency:.2f} s after the stroke"
    return line


def friendly_error(exc: BaseException) -> str:
    """One line for the status line, whatever went wrong (never a traceback dialog)."""
    if isinstance(exc, JobCancelled):
        return "Cancelled."
    if isinstance(exc, ServerUnavailable):
        return "Server not connected: " + exc.message
    if isinstance(exc, PluginError):
        # The server's refusals carry their HTTP status; the plug-in's own checks have none.
        return ("Error: " if exc.status or exc.code else "Cannot run: ") + exc.message
    return f"Unexpected error: {type(exc).__name__}: {exc}"


# ---- settings ----------------------------------------------------------------------------------------

@dataclass
class DockerSettings:
    """What the docker remembers between sessions (stored as strings in kritarc's [adastyle] group).

    `styles` holds image paths and library styles (`lib:<id>`); `favourites` are library entry ids, kept
    here rather than on the server so that a shared server's library is not marked by one artist.
    """

    styles: List[str] = field(default_factory=list)
    weights: List[float] = field(default_factory=list)
    alpha: float = wire.ALPHA.default
    preserve_color: str = wire.PRESERVE_COLOR.default
    use_selection: bool = True
    scale: float = wire.SCALE.default
    server_url: str = ""  # empty = from the plug-in's settings file / ADASTYLE_URL
    stability: float = wire.STABILITY.default  # Apply to all frames: smoothing across keyframes, in frames
    coherence: float = wire.COHERENCE.default  # Apply to all frames: each keyframe follows the previous one
    coherence_features: float = wire.COHERENCE_FEATURES.default  # ... and its style features the previous ones
    favourites: List[str] = field(default_factory=list)  # library entry ids
    live_side: int = DEFAULT_PREVIEW_SIDE  # live mode: long side of the preview, in pixels

    @classmethod
    def load(cls, read: Callable[[str, str], str]) -> "DockerSettings":
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
        return cls(styles=styles, weights=weights, alpha=number("alpha", d.alpha, wire.ALPHA.minimum, wire.ALPHA.maximum),
                   preserve_color=preserve if preserve in PRESERVE_CHOICES else d.preserve_color,
                   use_selection=str(read("use_selection", "true")).strip().lower() not in ("false", "0", "no"),
                   scale=number("scale", d.scale, MIN_SCALE, MAX_SCALE),
                   server_url=str(read("server_url", "") or "").strip(),
                   stability=number("stability", d.stability, *STABILITY_RANGE),
                   coherence=number("coherence", d.coherence, *COHERENCE_RANGE),
                   coherence_features=number("coherence_features", d.coherence_features, *COHERENCE_FEATURES_RANGE),
                   favourites=[str(f) for f in json_list("favourites") if isinstance(f, str) and f],
                   live_side=int(number("live_side", d.live_side, LIVE_SIDE_MIN, LIVE_SIDE_MAX)))

    def dump(self) -> Dict[str, str]:
        """key -> string, as Krita's writeSetting stores it."""
        d = asdict(self)
        return {"styles": json.dumps(d["styles"]), "weights": json.dumps(d["weights"]),
                "alpha": repr(float(self.alpha)), "preserve_color": self.preserve_color,
                "use_selection": "true" if self.use_selection else "false", "scale": repr(float(self.scale)),
                "server_url": self.server_url, "stability": repr(float(self.stability)),
                "coherence": repr(float(self.coherence)),
                "coherence_features": repr(float(self.coherence_features)), "favourites": json.dumps(d["favourites"]),
                "live_side": str(int(self.live_side))}

    def save(self, write: Callable[[str, str], None]) -> None:
        for key, value in self.dump().items():
            write(key, value)
