"""The GIMP plug-in's decisions without GIMP: its arguments and their checks, names, error wording.

Kept apart from adastyle_gimp.py (which imports `gi`) so that everything the plug-in decides is unit-tested
without GIMP; adastyle_gimp.py only moves pixels between GIMP and the server. The rules shared with the
Krita docker (limits, colour modes, weights, the selection strategy) come from `adastyle_plugin`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from adastyle_plugin import library, rules, wire
from adastyle_plugin.errors import JobCancelled, PluginError, RuleError, ServerUnavailable
from adastyle_plugin.selection import Box  # in layer coordinates here

CALLING_ERROR = "calling_error"  # PluginError.code of a bad argument: GIMP's CALLING_ERROR status
START_HINT = "Start it with `adastyle serve --background` (or check the server URL in the plug-in settings)."
# PDB status of each outcome, by name (adastyle_gimp.py turns the name into Gimp.PDBStatusType).
STATUS_CANCEL, STATUS_CALLING, STATUS_EXECUTION = "CANCEL", "CALLING_ERROR", "EXECUTION_ERROR"


def sentence(text: str) -> str:
    """'weights must be ...' -> 'Weights must be ....': GIMP shows the message on its own in a dialog."""
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


def calling_error(message: str) -> PluginError:
    return PluginError(sentence(message), code=CALLING_ERROR)


def double_spec(field: wire.Field) -> Tuple[float, float, float]:
    """(minimum, maximum, default) of the procedure's double argument for a wire field: the range and default
    the server takes, so the dialog offers no value the server refuses."""
    return float(field.minimum or 0.0), float(field.maximum or 0.0), float(field.default)


@dataclass
class Params:
    """The procedure's arguments, validated, in the form the client wants."""

    styles: List[str]  # style files
    style_layer: Any  # Gimp.Drawable or None: one more style after the files, a layer of any open image
    weights: Optional[List[float]]
    alpha: float
    preserve_color: str
    use_selection: bool
    scale: float
    server_url: str
    stability: float = 0.0  # "Stylise all layers": smoothing across the frames (layers)
    coherence: float = 0.0  # "Stylise all layers": each frame follows the previous one along the motion
    coherence_features: float = 0.0  # and each frame's AdaIN target the previous one's, before decoding
    library: List[str] = field(default_factory=list)  # library styles and presets by name or id, after the rest
    library_labels: List[str] = field(default_factory=list)  # their names, once the server's listing is read

    @property
    def style_names(self) -> List[str]:
        """Names for rules.style_label, which takes paths: the style layer and the library entries by their
        names (`rules.name_as_path`)."""
        lib = [rules.name_as_path(n) for n in self.library_labels or self.library]
        if self.style_layer is None:
            return [*self.styles, *lib]
        return [*self.styles, rules.name_as_path(self.style_layer.get_name()), *lib]


@dataclass
class Region:
    """What to send: a box of the layer and, for a selection, the selection's mask over that box."""

    box: Box
    mask: Optional[bytes]  # 8-bit, box-sized; None = whole box

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def parse_styles(raw: Optional[str], required: bool = True) -> List[str]:
    """Style paths from the os.pathsep-separated argument; each must be a readable file.

    `required` is False when a style layer is given: then the files may be left out.
    """
    paths = [p.strip() for p in (raw or "").split(os.pathsep) if p.strip()]
    if not paths and required:
        raise calling_error("Choose at least one style image (argument 'style-path'), a style layer "
                            "(argument 'style-layer') or a library style (argument 'library')")
    for p in paths:
        if not os.path.isfile(p):
            raise calling_error(f"Style image not found: {p}")
    return paths


def parse_library(raw: Optional[str]) -> List[str]:
    """Library entries from the comma-separated argument (names or ids; a name with a comma goes by its id)."""
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


def read_params(get: Callable[[str], Any]) -> Params:
    """Validated arguments, read by name with `get` (GIMP: the procedure config's get_property)."""
    style_layer = get("style-layer")
    names = parse_library(get("library"))
    styles = parse_styles(get("style-path"), required=style_layer is None and not names)
    try:
        preserve = rules.check_color_mode((get("preserve-color") or "none").strip().lower())
        weights = rules.weights_to_send(get("weights") or "", len(styles) + (style_layer is not None) + len(names))
        alpha = rules.check_alpha(float(get("alpha")))
        scale = rules.check_scale(float(get("scale")))
    except RuleError as exc:
        raise calling_error(exc.message) from None
    return Params(styles=styles, style_layer=style_layer, weights=weights, alpha=alpha, preserve_color=preserve,
                  use_selection=bool(get("use-selection")), scale=scale,
                  server_url=(get("server-url") or "").strip(), library=names)


def read_layers_params(get: Callable[[str], Any]) -> Params:
    """The arguments of "Stylise all layers": those of the one-layer procedure without the selection
    (every layer is stylised whole), plus the stability and the two coherences across frames."""
    params = read_params(lambda name: False if name == "use-selection" else get(name))
    try:
        params.stability = rules.check_stability(float(get("stability")))
        params.coherence = rules.check_coherence(float(get("coherence")))
        params.coherence_features = rules.check_coherence_features(float(get("coherence-features")))
    except RuleError as exc:
        raise calling_error(exc.message) from None
    return params


def library_request(entries: Sequence[Dict[str, Any]], params: Params
                    ) -> Tuple[List[str], Optional[List[float]], Dict[str, Any]]:
    """(style ids, weights of every style sent, settings) for the chosen library entries.

    The files and the style layer keep the first weights, the library entries the rest; a preset brings its
    styles with its weights (scaled by its own) and, when it is the only style chosen, its strength, colour
    mode and stroke scale as `settings`. Weights are None when the server is to weigh the styles equally.
    The entries' names go into `params.library_labels`: the result layer is named after them, not their ids.
    """
    try:
        chosen = [library.by_name(entries, name) for name in params.library]
    except PluginError as exc:
        raise calling_error(exc.message) from None
    params.library_labels = [library.label(e) for e in chosen]  # the layer's name says these
    own = len(params.styles) + (params.style_layer is not None)
    given = params.weights or [1.0] * (own + len(chosen))
    ids, lib_weights, settings = library.job_styles(list(zip(chosen, given[own:])))
    if own:
        settings = {}
    weights = rules.weights_to_send(given[:own] + lib_weights, own + len(ids))
    if weights is not None and params.weights is None and len(set(weights)) == 1:
        weights = None  # equal weights: say nothing, as without a library
    return ids, weights, settings


def frame_layers(top_level: List[Any], style_layer: Any = None) -> List[Any]:
    """The frames of a layers-as-frames animation, in playback order: the image's top-level layers from the
    bottom (GIMP's first frame) up; a style layer of the same image is a style, not a frame."""
    def key(layer: Any) -> Any:  # GIMP's item id where there is one (a wrapper may be a new Python object)
        return layer.get_id() if hasattr(layer, "get_id") else id(layer)

    style_key = key(style_layer) if style_layer is not None else None
    frames = [layer for layer in reversed(top_level) if key(layer) != style_key]
    if not frames:
        raise calling_error("The image has no layers to stylise besides the style layer")
    return frames


def frame_layer_name(original: str, styles: List[str], preserve_color: str) -> str:
    """'Frame 2 (100ms) - castle (AdaIN)': the frame's name first, so animation timing tags such as
    '(100ms)' or '(replace)' still apply to the stylised frame."""
    return f"{original} - {layer_name(styles, preserve_color)}"


def layer_name(styles: List[str], preserve_color: str) -> str:
    """'castle + autumn (AdaIN) histogram': the style files (or layer) it came from (shared naming rule)."""
    return rules.style_label(styles) + (f" {preserve_color}" if preserve_color != "none" else "")


def unavailable(exc: PluginError) -> PluginError:
    """The server could not be reached or started: the reason, and how to start it."""
    message = exc.message.rstrip()
    if "adastyle serve" not in message:
        message = message.rstrip(".") + ". " + START_HINT
    return PluginError(f"AdaStyle server unavailable: {message}")


def from_server(exc: PluginError) -> PluginError:
    """A failed request as the procedure's error (a cancel stays a cancel)."""
    if isinstance(exc, JobCancelled):
        return JobCancelled("Cancelled.", code="cancelled")
    if isinstance(exc, ServerUnavailable):
        return PluginError(f"AdaStyle server unavailable: {exc.message}")
    return PluginError(f"AdaStyle: {exc.message}")


def status_of(exc: PluginError) -> str:
    """The PDB status name for a PluginError: cancelled, a bad argument, or a failed execution."""
    if isinstance(exc, JobCancelled):
        return STATUS_CANCEL
    return STATUS_CALLING if exc.code == CALLING_ERROR else STATUS_EXECUTION
