"""The wire schema: every field a job or sequence form carries, with its kind, default and range, once.

Why one table: the plug-ins build their forms from it (http.job_fields), the shared rules take their limits
from it (rules.check_*), the server reads the form by it (forms.parse_job) and describes it from it
(/openapi.json), and the GIMP and Krita option specs take their ranges and defaults from it; a field
changed here changes in all of them. Standard library only, like the rest of the toolkit.

Text on the wire: a number is sent as Python's str() of it and read back with int() or float(); an empty
field is a field not given (HTML forms send empty fields), so it gets the default.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from adastyle_plugin.errors import RuleError

NUMBER, INTEGER, TEXT, CHOICE = "number", "integer", "text", "choice"  # kinds of a value field
FILE, FILES, TEXTS = "file", "files", "texts"                          # kinds of an upload / repeated field
TEXT_PART_BYTES = 1 << 20  # bytes of one text part at most: far above any field's value (files are bounded by
                           # the request body's limit, not by this)
MAX_FRAMES = 256           # frames one sequence request may carry


@dataclass(frozen=True)
class Field:
    """One form field: its name, kind, what it means (the API description shows it) and allowed values.

    `zero` names what 0 means for a number whose range starts above 0 or whose 0 is special (tile 0 =
    automatic); `unit` is appended to the range in messages; `required`: a form without it is refused; `label`
    says in words what a terse name means, in messages.
    """

    name: str
    kind: str
    help: str
    default: Any = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    choices: Optional[Tuple[str, ...]] = None
    zero: Optional[str] = None
    unit: str = ""
    required: bool = False
    label: Optional[str] = None

    @property
    def named(self) -> str:
        """The name as messages give it: with its label in words when it has one."""
        return f"{self.name} ({self.label})" if self.label else self.name

    @property
    def is_number(self) -> bool:
        return self.kind in (NUMBER, INTEGER)

    def range_text(self) -> str:
        """'between 0.05 and 4', 'between 0 (native) and 4096', '0 (automatic) or between 128 and 8192 pixels'."""
        if self.maximum is None:
            return f"at least {self.minimum or 0:g}{self.unit}"
        top = f"{self.maximum:g}{self.unit}"
        if self.zero is None:
            return f"between {self.minimum:g} and {top}"
        if not self.minimum:
            return f"between 0 ({self.zero}) and {top}"
        return f"0 ({self.zero}) or between {self.minimum:g} and {top}"

    def check(self, value: object) -> Any:
        """The value if it is one this field allows (a number in range, an integer for an integer field, one of
        the choices), else RuleError in words a user reads."""
        if self.choices is not None:
            if value not in self.choices:
                raise RuleError(f"{self.named} must be one of {', '.join(self.choices)}, got {value!r}")
            return str(value)
        if not self.is_number:
            return value
        whole = isinstance(value, int) and not isinstance(value, bool)
        number = whole or (isinstance(value, float) and math.isfinite(value))
        in_range = number and ((self.minimum is None or value >= self.minimum) and  # type: ignore[operator]
                               (self.maximum is None or value <= self.maximum) or  # type: ignore[operator]
                               (self.zero is not None and value == 0))
        if not in_range or (self.kind == INTEGER and not whole):
            raise RuleError(f"{self.named} must be {self.range_text()}, got {value!r}")
        return value if self.kind == INTEGER else float(value)  # type: ignore[arg-type]

    def encode(self, value: Any) -> str:
        """The field's text on the wire."""
        if self.kind == NUMBER:
            return repr(float(value))
        return str(value)

    def decode(self, raw: Optional[str]) -> Any:
        """The value of the field's text (the default when it is missing or empty); RuleError when a number
        field holds no number. The range is the rules' to check (check)."""
        if raw is None or raw.strip() == "":
            return self.default
        text = raw.strip()
        if not self.is_number:
            return text
        try:
            value = int(text) if self.kind == INTEGER else float(text)
        except ValueError:
            raise RuleError(f"{self.name} must be {'an integer' if self.kind == INTEGER else 'a number'}, "
                            f"got {raw[:40]!r}") from None
        if not math.isfinite(value):
            raise RuleError(f"{self.name} must be finite, got {raw[:40]!r}")
        return value

    def schema(self) -> Dict[str, Any]:
        """The field as an OpenAPI (JSON Schema) property."""
        if self.kind == FILE:
            out: Dict[str, Any] = {"type": "string", "format": "binary"}
        elif self.kind == FILES:
            out = {"type": "array", "items": {"type": "string", "format": "binary"}}
        elif self.kind == TEXTS:
            out = {"type": "array", "items": {"type": "string"}}
        else:
            out = {"type": {TEXT: "string", CHOICE: "string"}.get(self.kind, self.kind)}
        low = 0 if self.zero is not None and self.minimum else self.minimum  # 0 is allowed as well
        for key, value in (("default", self.default), ("minimum", low), ("maximum", self.maximum)):
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.choices:
            out["enum"] = list(self.choices)
        out["description"] = self.help
        return out


# ---- the options of a job (and of each frame of a sequence) ------------------------------------------------
STYLE = Field("style", FILES, "style image(s) (PNG, JPEG, WebP, TIFF, BMP or GIF); repeat the field for several")
STYLE_ID = Field("style_id", TEXTS, "id of a style uploaded before with POST /v1/styles (or lib:ID of a library "
                                    "style); repeatable, instead of or beside 'style'", ())
WEIGHTS = Field("weights", TEXT, "comma-separated weights, one per style, e.g. 0.3,0.7 (empty: equal; not with "
                                 "a mask)", "")
ALPHA = Field("alpha", NUMBER, "content-style trade-off: 0 = the content decoded, 1 = full style", 1.0, 0.0, 1.0)
PRESERVE_COLOR = Field("preserve_color", CHOICE, "keep the content's colours: histogram (match the style's colours "
                                                 "first) or luminance (brightness only)", "none",
                       choices=("none", "histogram", "luminance"), label="colour preservation")
MASK = Field("mask", FILE, "grey mask at the content's size or aspect ratio: white = styled (first style with two), "
                           "black = original (second style)")
MASK_FORMAT = Field("mask_format", CHOICE, "encoded: an image file; gray: raw 8-bit pixels at the content's size",
                    "encoded", choices=("encoded", "gray"))
SCALE = Field("scale", NUMBER, "stroke scale: working resolution / canvas (below 1 = larger brush strokes)", 1.0,
              0.05, 4.0)
TILE = Field("tile", INTEGER, "tile side in pixels: 0 = automatic, else 128 to 8192", 0, 128, 8192,
             zero="automatic", unit=" pixels")
STYLE_SIZE = Field("style_size", INTEGER, "short side the style is resized to, in pixels (0 = as it is)", 512, 0,
                   4096, zero="native")
CONTENT_FORMAT = Field("content_format", CHOICE, "encoded: an image file; rgba: raw 8-bit RGBA pixels (give width "
                                                 "and height)", "encoded", choices=("encoded", "rgba"))
WIDTH = Field("width", INTEGER, "width of raw RGBA pixels (content_format=rgba)", 0, 0)
HEIGHT = Field("height", INTEGER, "height of raw RGBA pixels (content_format=rgba)", 0, 0)
RESULT_FORMAT = Field("result_format", CHOICE, "png: a PNG file; rgba: raw 8-bit RGBA pixels (size in X-Width, "
                                               "X-Height)", "png", choices=("png", "rgba"))
LIVE = Field("live", TEXT, "key of a live session (1 to 64 letters, digits, '-' or '_'), e.g. a random id per "
                          "document: the server keeps the session's last render and re-renders only what changed "
                          "since (the job's info says live: full, refreshed, partial or unchanged); empty: an ordinary job", "")
LIVE_KEY_MAX = 64          # characters of a live session's key
CONTENT = Field("content", FILE, "the content image (PNG, JPEG, WebP, TIFF, BMP or GIF), or raw RGBA pixels with "
                                 "content_format=rgba", required=True)

# ---- what a sequence adds -----------------------------------------------------------------------------------
FRAME_0 = Field("frame_0", FILE, f"the first frame; the others follow as frame_1, frame_2, ... (at most "
                                 f"{MAX_FRAMES}, all of the first one's size)", required=True)
FRAME_1 = Field("frame_1", FILE, "the second frame, and so on")
STABILITY = Field("stability", NUMBER, "smoothing of content statistics across frames: the window's standard "
                                       "deviation in frames (0 = frame by frame)", 2.0, 0.0, 100.0,
                  zero="frame by frame", unit=" frames")
COHERENCE = Field("coherence", NUMBER, "temporal coherence: how strongly each frame follows the previous stylised "
                                       "frame along the motion (optical flow), where the motion is reliable "
                                       "(0 = off; where the picture zooms or turns, 90 % of it)", 1.0, 0.0, 1.0,
                  zero="frame by frame")
COHERENCE_FEATURES = Field("coherence_features", NUMBER, "temporal coherence before decoding: how strongly each "
                                                         "frame's AdaIN target (the decoder's input) follows the "
                                                         "previous frame's along the motion, where the motion is "
                                                         "reliable; works beside coherence (0 = off)", 0.9, 0.0,
                           1.0, zero="off", label="feature coherence")

OPTION_FIELDS = (STYLE, STYLE_ID, WEIGHTS, ALPHA, PRESERVE_COLOR, MASK, MASK_FORMAT, SCALE, TILE, STYLE_SIZE,
                 CONTENT_FORMAT, WIDTH, HEIGHT, RESULT_FORMAT)
JOB_FIELDS = (CONTENT, *OPTION_FIELDS, LIVE)
SEQUENCE_FIELDS = (FRAME_0, FRAME_1, STABILITY, COHERENCE, COHERENCE_FEATURES, *OPTION_FIELDS)
STYLE_UPLOAD_FIELDS = (Field("style", FILE, "the style image (PNG, JPEG, WebP, TIFF, BMP or GIF)", required=True),)
# The settings of a stylisation a front end shows (and a job sends as plain fields), in the order sent.
SETTING_FIELDS = (ALPHA, PRESERVE_COLOR, SCALE, TILE, STYLE_SIZE, RESULT_FORMAT)
FIELDS = {f.name: f for f in (*JOB_FIELDS, *SEQUENCE_FIELDS)}

