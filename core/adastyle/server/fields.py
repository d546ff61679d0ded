"""The multipart fields the API takes, with type, range and default, written once from the request rules.

Why a table: the form parser (forms.py, sequence.py) reads its defaults from it and the API description
(/openapi.json, docs.py) is generated from it, so what /docs shows is what the server does. The ranges
come from `adastyle_plugin.rules`, the rules the request itself enforces.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adastyle.sequence import DEFAULT_STABILITY, MAX_FRAMES
from adastyle.server.jobs import RESULT_FORMATS
from adastyle_plugin import rules


@dataclass(frozen=True)
class FormField:
    """One multipart field: its name, kind (number, integer, text, file, files, texts), what it means and its
    allowed values."""

    name: str
    kind: str
    help: str
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def schema(self) -> dict[str, Any]:
        """The field as an OpenAPI (JSON Schema) property."""
        if self.kind == "file":
            out: dict[str, Any] = {"type": "string", "format": "binary"}
        elif self.kind == "files":
            out = {"type": "array", "items": {"type": "string", "format": "binary"}}
        elif self.kind == "texts":
            out = {"type": "array", "items": {"type": "string"}}
        else:
            out = {"type": {"text": "string"}.get(self.kind, self.kind)}
        for key, value in (("default", self.default), ("minimum", self.minimum), ("maximum", self.maximum)):
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.choices:
            out["enum"] = list(self.choices)
        out["description"] = self.help
        return out


COLOR_HELP = "keep the content's colours: histogram (match the style's colours first) or luminance (brightness only)"
OPTION_FIELDS = (
    FormField("style", "files", "style image(s) (PNG, JPEG, WebP, TIFF, BMP or GIF); repeat the field for several"),
    FormField("style_id", "texts", "id of a style uploaded before with POST /v1/styles; repeatable, instead of or "
                                   "beside 'style'", ()),
    FormField("weights", "text", "comma-separated weights, one per style, e.g. 0.3,0.7 (empty: equal; not with "
                                 "a mask)", ""),
    FormField("alpha", "number", "content-style trade-off: 0 = the content decoded, 1 = full style", 1.0,
              rules.ALPHA_MIN, rules.ALPHA_MAX),
    FormField("preserve_color", "text", COLOR_HELP, "none", choices=rules.COLOR_MODES),
    FormField("mask", "file", "grey mask at the content's size or aspect ratio: white = styled (first style with "
                              "two), black = original (second style)"),
    FormField("mask_format", "text", "encoded: an image file; gray: raw 8-bit pixels at the content's size",
              "encoded", choices=("encoded", "gray")),
    FormField("scale", "number", "stroke scale: working resolution / canvas (below 1 = larger brush strokes)", 1.0,
              rules.SCALE_MIN, rules.SCALE_MAX),
    FormField("tile", "integer", f"tile side in pixels: 0 = automatic, else {rules.TILE_MIN} to {rules.TILE_MAX}", 0,
              0, rules.TILE_MAX),
    FormField("style_size", "integer", "short side the style is resized to, in pixels (0 = as it is)",
              rules.DEFAULT_STYLE_SIZE, 0, rules.STYLE_SIZE_MAX),
    FormField("content_format", "text", "encoded: an image file; rgba: raw 8-bit RGBA pixels (give width and height)",
              "encoded", choices=("encoded", "rgba")),
    FormField("width", "integer", "width of raw RGBA pixels (content_format=rgba)", 0, 0),
    FormField("height", "integer", "height of raw RGBA pixels (content_format=rgba)", 0, 0),
    FormField("result_format", "text", "png: a PNG file; rgba: raw 8-bit RGBA pixels (size in X-Width, X-Height)",
              "png", choices=tuple(RESULT_FORMATS)),
)
CONTENT = FormField("content", "file", "the content image (PNG, JPEG, WebP, TIFF, BMP or GIF), or raw RGBA pixels "
                                       "with content_format=rgba")
JOB_FIELDS = (CONTENT, *OPTION_FIELDS)
SEQUENCE_FIELDS = (
    FormField("frame_0", "file", f"the first frame; the others follow as frame_1, frame_2, ... (at most {MAX_FRAMES}, "
                                 "all of the first one's size)"),
    FormField("frame_1", "file", "the second frame, and so on"),
    FormField("stability", "number", "smoothing of content statistics across frames: the window's standard "
                                     "deviation in frames (0 = frame by frame)", DEFAULT_STABILITY, 0,
              rules.STABILITY_MAX),
    FormField("coherence", "number", "temporal coherence: how strongly each frame follows the previous stylised "
                                     "frame along the motion (optical flow), where the motion is reliable "
                                     "(0 = off)", rules.DEFAULT_COHERENCE, 0, rules.COHERENCE_MAX),
    *OPTION_FIELDS,
)
STYLE_UPLOAD_FIELDS = (FormField("style", "file", "the style image (PNG, JPEG, WebP, TIFF, BMP or GIF)"),)
FIELDS = {f.name: f for f in (*JOB_FIELDS, *SEQUENCE_FIELDS)}


def default(name: str) -> Any:
    """The default of a form field (what a request without it gets)."""
    return FIELDS[name].default
