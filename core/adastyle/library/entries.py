"""What a library entry is (a style image or a preset of styles with settings), and the rules its fields follow.

Why its own module: the server's routes, the CLI's `--style lib:NAME` and the web page all take names, tags
and preset settings from users, and each must refuse the same bad values with the same words. An entry is
also read back from JSON files in the config folder, which anything may have damaged, so `entry_from_json`
checks a stored entry as strictly as a new one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from adastyle.errors import UserError
from adastyle_plugin import rules
from adastyle_plugin.errors import RuleError

STYLE, PRESET = "style", "preset"
KINDS = (STYLE, PRESET)
MAX_NAME = 80
MAX_TAG = 32
MAX_TAGS = 16
MAX_TEXT = 300              # source and licence lines
LIB_PREFIX = "lib:"         # `--style lib:NAME`, `style_id=lib:ID`: a library entry instead of a file or upload
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")  # ids name files: nothing else is ever a path part
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class LibraryError(UserError):
    """A library request that cannot be done, with a message for users; `kind` says why (for HTTP status)."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind  # invalid | not_found | conflict | full


def check_id(entry_id: Any) -> str:
    """An entry id as ids are made (lower-case letters, digits, dashes), else not_found."""
    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        raise LibraryError(f"no library entry {str(entry_id)[:40]!r}", "not_found")
    return entry_id


def check_name(name: Any) -> str:
    """A display name: 1..80 characters after trimming, no control characters, not starting with 'lib:'."""
    if not isinstance(name, str) or not name.strip():
        raise LibraryError("give the entry a name (1 to 80 characters)")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise LibraryError(f"name is {len(name)} characters long; at most {MAX_NAME}")
    if _CONTROL.search(name):
        raise LibraryError("name must not contain control characters")
    if name.lower().startswith(LIB_PREFIX):
        raise LibraryError(f"name must not start with {LIB_PREFIX!r}")
    return name


def check_tags(tags: Any) -> tuple[str, ...]:
    """Tags as a list or one comma-separated string: trimmed, lower-case, unique, at most 16 of 1..32 characters."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        items: Iterable[Any] = tags.split(",")
    elif isinstance(tags, (list, tuple)):
        items = tags
    else:
        raise LibraryError("tags must be a list of words or one comma-separated string")
    out: list[str] = []
    for raw in items:
        if not isinstance(raw, str):
            raise LibraryError("each tag must be text")
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or _CONTROL.search(tag):
            raise LibraryError(f"tag {tag[:40]!r}: at most {MAX_TAG} characters, no control characters")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise LibraryError(f"{len(out)} tags; at most {MAX_TAGS}")
    return tuple(out)


def check_text(value: Any, what: str, default: str) -> str:
    """A one-line source or licence credit (at most 300 characters)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str) or _CONTROL.search(value) or len(value) > MAX_TEXT:
        raise LibraryError(f"{what} must be one line of at most {MAX_TEXT} characters")
    return value.strip()


@dataclass(frozen=True)
class PresetStyle:
    """One style of a preset and its weight."""
    id: str
    weight: float


@dataclass(frozen=True)
class Entry:
    """A library entry. Styles have an image file (`file`, in the library folder or the bundled set);
    presets have `styles` with weights and the settings a job takes from them."""

    id: str
    kind: str
    name: str
    tags: tuple[str, ...] = ()
    favourite: bool = False
    source: str = "added by the user"
    licence: str = "the user's own"
    created: float = 0.0
    bundled: bool = False
    # styles
    file: str = ""
    width: int = 0
    height: int = 0
    bytes: int = 0
    # presets
    styles: tuple[PresetStyle, ...] = field(default_factory=tuple)
    alpha: float = 1.0
    preserve_color: str = "none"
    scale: float = 1.0

    def to_json(self) -> dict[str, Any]:
        """What is stored (and, with the thumbnail URL added, what the API lists)."""
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["styles"] = [asdict(s) for s in self.styles]
        if self.kind == STYLE:
            for key in ("styles", "alpha", "preserve_color", "scale"):
                data.pop(key)
        else:
            for key in ("file", "width", "height", "bytes"):
                data.pop(key)
        return data

    @property
    def weights(self) -> list[float]:
        return [s.weight for s in self.styles]


def check_preset(styles: Any, alpha: Any, preserve_color: Any, scale: Any, max_styles: int
                 ) -> tuple[tuple[PresetStyle, ...], float, str, float]:
    """A preset's styles (ids with weights, normalised to sum 1) and settings, checked by the shared rules."""
    if not isinstance(styles, (list, tuple)) or not styles:
        raise LibraryError("a preset needs at least one style (a list of {id, weight})")
    if len(styles) > max_styles:
        raise LibraryError(f"a preset has at most {max_styles} styles (got {len(styles)})")
    ids, weights = [], []
    for item in styles:
        if not isinstance(item, dict):
            raise LibraryError("each style of a preset is {\"id\": ..., \"weight\": ...}")
        ids.append(check_id(item.get("id")))
        weights.append(item.get("weight", 1.0))
    try:
        numbers = [float(w) for w in weights]
        normal = rules.normalise_weights(numbers, len(ids))
        checked = (rules.check_alpha(float(alpha)), rules.check_color_mode(str(preserve_color)),
                   rules.check_scale(float(scale)))
    except (TypeError, ValueError):
        raise LibraryError("weights, alpha and scale must be numbers") from None
    except RuleError as exc:
        raise LibraryError(exc.message) from None
    return (tuple(PresetStyle(i, round(w, 6)) for i, w in zip(ids, normal)), *checked)


def entry_from_json(data: Any, max_styles: int) -> Entry:
    """An entry read back from its file, every field checked again (LibraryError when damaged)."""
    if not isinstance(data, dict):
        raise LibraryError("not a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise LibraryError(f"unknown kind {str(kind)[:20]!r}")
    common = {"id": check_id(data.get("id")), "kind": kind, "name": check_name(data.get("name")),
              "tags": check_tags(data.get("tags")), "favourite": data.get("favourite") is True,
              "source": check_text(data.get("source"), "source", "added by the user"),
              "licence": check_text(data.get("licence"), "licence", "the user's own"),
              "created": float(data.get("created") or 0.0), "bundled": data.get("bundled") is True}
    if kind == STYLE:
        file, size = data.get("file"), [data.get(k) for k in ("width", "height", "bytes")]
        if not isinstance(file, str) or not re.match(r"^[a-z0-9][a-z0-9.-]{0,80}\.(jpg|png)$", file):
            raise LibraryError("bad image file name")
        if not all(isinstance(v, int) and v >= 0 for v in size):
            raise LibraryError("bad image size")
        return Entry(**common, file=file, width=size[0], height=size[1], bytes=size[2])
    styles, alpha, color, scale = check_preset(data.get("styles"), data.get("alpha", 1.0),
                                               data.get("preserve_color", "none"), data.get("scale", 1.0), max_styles)
    return Entry(**common, styles=styles, alpha=alpha, preserve_color=color, scale=scale)
