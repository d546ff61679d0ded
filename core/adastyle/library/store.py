"""The style library on disk: the bundled starter styles plus what the user added, in the config folder.

Layout (folder `library/` in the config folder, 0700; every file 0600, written atomically, never through a
link): `<id>.json` per entry the user added (a style with its `<id>.jpg`, or a preset), `<id>.json` with
`"overlay": true` for a bundled style the user renamed, retagged, marked or removed (the bundled files
themselves are never written), and `thumbs/<id>.jpg`, each made once.

Why one file per entry: a damaged or hand-edited file costs that one entry (skipped with a warning when
the library is read), never the library or the server. Why a lock: the server's routes and its job
form parsing use one Library from several threads.
"""
from __future__ import annotations

import io
import json
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from adastyle.imageio import ImageError, open_image
from adastyle.library.entries import (
    LIB_PREFIX,
    PRESET,
    STYLE,
    Entry,
    LibraryError,
    check_id,
    check_name,
    check_preset,
    check_tags,
    check_text,
    entry_from_json,
)
from adastyle.server.budget import ByteBoundedStore
from adastyle.server.private_files import (
    UnsafeFileError,
    private_dir,
    read_private,
    read_private_bytes,
    remove_private,
    write_private,
)

log = logging.getLogger(__name__)
STARTER = Path(__file__).parent / "starter"   # the bundled styles: manifest.json and one JPEG each
THUMB_SIDE = 256       # long side of a thumbnail (the whole image, never cropped)
IMAGE_CACHE_BYTES = 48 << 20   # decoded library styles kept for jobs (least recently used go)
STORE_QUALITY = 92     # JPEG quality of added styles (they are textures: artefacts would become style)


class Library:
    """The bundled styles and the user's entries; every change is written before it is answered."""

    def __init__(self, folder: Path, *, max_entries: int = 500, max_bytes: int = 256 << 20, keep_side: int = 1024,
                 max_styles: int = 4, starter: Path | None = STARTER) -> None:
        self.folder = folder
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.keep_side = keep_side
        self.max_styles = max_styles
        self.starter = starter
        self._lock = threading.RLock()
        self._entries: dict[str, Entry] = {}
        self._hidden: set[str] = set()  # bundled entries the user removed
        self._images: ByteBoundedStore[Image.Image] = ByteBoundedStore(IMAGE_CACHE_BYTES)
        self.skipped: list[str] = []    # one line per entry that could not be read
        self._load()

    # ---- reading -------------------------------------------------------------------------------------
    def _skip(self, what: str, why: str) -> None:
        line = f"library: skipped {what}: {why}"
        log.warning(line)
        self.skipped.append(line)

    def _load(self) -> None:
        if self.starter is not None and (self.starter / "manifest.json").is_file():
            manifest = json.loads((self.starter / "manifest.json").read_text(encoding="utf-8"))
            for item in manifest.get("styles", []):
                try:
                    size = (self.starter / str(item.get("file"))).stat().st_size
                    entry = entry_from_json({**item, "kind": STYLE, "bundled": True, "bytes": size}, self.max_styles)
                except (LibraryError, OSError) as exc:
                    self._skip(f"bundled style {item.get('id')!r}", str(exc))
                    continue
                self._entries[entry.id] = entry
        if not self.folder.is_dir():
            return
        files = sorted(self.folder.glob("*.json"))
        presets: list[Entry] = []
        for path in files:
            try:
                data = json.loads(read_private(path, private_read=False) or "")
                if isinstance(data, dict) and data.get("overlay") is True:
                    self._apply_overlay(data)
                    continue
                entry = replace(entry_from_json(data, self.max_styles), bundled=False)
                if entry.id != path.stem or entry.id in self._entries:
                    raise LibraryError("its id does not match its file name")
                if entry.kind == STYLE and not (self.folder / entry.file).is_file():
                    raise LibraryError(f"its image {entry.file} is missing")
            except (LibraryError, UnsafeFileError, ValueError, TypeError, OSError) as exc:
                self._skip(path.name, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
                continue
            if self._name_taken(entry.name):
                self._skip(path.name, f"another entry is already named {entry.name!r}")
                continue
            if entry.kind == PRESET:
                presets.append(entry)
            self._entries[entry.id] = entry
        for preset in presets:  # a preset of a style that is gone cannot run
            missing = [s.id for s in preset.styles if self._visible_style(s.id) is None]
            if missing:
                del self._entries[preset.id]
                self._skip(f"{preset.id}.json", f"preset {preset.name!r} uses styles that are gone: {', '.join(missing)}")

    def _apply_overlay(self, data: dict[str, Any]) -> None:
        entry = self._entries.get(check_id(data.get("id")))
        if entry is None or not entry.bundled:
            raise LibraryError("it changes a bundled style that is not there")
        if data.get("hidden") is True:
            self._hidden.add(entry.id)
        self._entries[entry.id] = replace(entry, name=check_name(data.get("name", entry.name)),
                                          tags=check_tags(data.get("tags", list(entry.tags))),
                                          favourite=data.get("favourite") is True)

    def _name_taken(self, name: str, but: str | None = None) -> bool:
        key = name.casefold()
        return any(e.name.casefold() == key and e.id != but for e in self._visible())

    def _visible(self) -> Iterable[Entry]:
        return (e for e in self._entries.values() if e.id not in self._hidden)

    def _visible_style(self, entry_id: str) -> Entry | None:
        entry = self._entries.get(entry_id)
        return entry if entry is not None and entry.kind == STYLE and entry.id not in self._hidden else None

    def entries(self) -> list[Entry]:
        """Every entry the user sees: favourites first, then by name."""
        with self._lock:
            return sorted(self._visible(), key=lambda e: (not e.favourite, e.name.casefold()))

    def get(self, entry_id: str) -> Entry:
        """The entry with this id (LibraryError not_found otherwise)."""
        with self._lock:
            entry = self._entries.get(check_id(entry_id))
            if entry is None or entry.id in self._hidden:
                raise LibraryError(f"no library entry {entry_id!r}", "not_found")
            return entry

    def find(self, ref: str) -> Entry:
        """An entry by id or by name (any case), with or without the `lib:` prefix."""
        ref = ref[len(LIB_PREFIX):] if ref.lower().startswith(LIB_PREFIX) else ref
        with self._lock:
            entry = self._entries.get(ref)
            if entry is not None and entry.id not in self._hidden:
                return entry
            key = " ".join(ref.split()).casefold()
            for entry in self._visible():
                if entry.name.casefold() == key:
                    return entry
        raise LibraryError(f"no library style or preset named {ref[:80]!r} (`adastyle library` lists them)",
                           "not_found")

    def style_path(self, entry: Entry) -> Path:
        """The image file of a style entry (bundled or added)."""
        if entry.kind != STYLE:
            raise LibraryError(f"{entry.name!r} is a preset, not a style image")
        return (self.starter if entry.bundled and self.starter else self.folder) / entry.file

    def style_image(self, entry: Entry) -> Image.Image:
        """The decoded style (RGB), cached: a library style used in every live preview is decoded once."""
        cached = self._images.get(entry.id)
        if cached is not None:
            return cached
        path = self.style_path(entry)
        try:
            data = path.read_bytes() if entry.bundled else read_private_bytes(path)
            if data is None:
                raise ImageError("the file is gone")
            image = open_image(data, name=entry.name).convert("RGB")
        except (OSError, ImageError, UnsafeFileError) as exc:
            raise LibraryError(f"the image of {entry.name!r} cannot be read ({exc}); remove the entry and add it again",
                               "conflict") from None
        self._images.put(entry.id, image, image.width * image.height * 3)
        return image

    def expand(self, entry: Entry) -> list[tuple[Entry, float]]:
        """The styles of an entry with their weights: a style alone, or a preset's styles."""
        if entry.kind == STYLE:
            return [(entry, 1.0)]
        return [(self.get(s.id), s.weight) for s in entry.styles]

    def used_bytes(self) -> int:
        """Bytes the user's added styles hold (what `max_bytes` limits)."""
        with self._lock:
            return sum(e.bytes for e in self._entries.values() if not e.bundled)

    # ---- changing --------------------------------------------------------------------------------------
    def _write_entry(self, entry: Entry) -> None:
        private_dir(self.folder)
        write_private(self.folder / f"{entry.id}.json", json.dumps(entry.to_json(), indent=1))

    def _write_overlay(self, entry: Entry, hidden: bool = False) -> None:
        private_dir(self.folder)
        write_private(self.folder / f"{entry.id}.json", json.dumps(
            {"overlay": True, "id": entry.id, "name": entry.name, "tags": list(entry.tags),
             "favourite": entry.favourite, "hidden": hidden}, indent=1))

    def _check_room(self, name: str, extra_bytes: int = 0) -> None:
        user = [e for e in self._entries.values() if not e.bundled]
        if len(user) >= self.max_entries:
            raise LibraryError(f"the library holds {len(user)} entries, its limit (remove some first)", "full")
        if extra_bytes and self.used_bytes() + extra_bytes > self.max_bytes:
            raise LibraryError(f"the library's styles would take {self.used_bytes() + extra_bytes:,} bytes, over its "
                               f"limit of {self.max_bytes:,} (remove some first)", "full")
        if self._name_taken(name):
            raise LibraryError(f"an entry named {name!r} is already in the library", "conflict")

    def _new_id(self) -> str:
        while True:
            entry_id = secrets.token_hex(6)
            if entry_id not in self._entries:
                return entry_id

    def add_style(self, image: Image.Image, name: Any, tags: Any = None, source: Any = None,
                  licence: Any = None) -> Entry:
        """Store a style image (reduced to `keep_side` on its short side, as JPEG) under a new id."""
        name, tags = check_name(name), check_tags(tags)
        source = check_text(source, "source", "added by the user")
        licence = check_text(licence, "licence", "the user's own")
        rgb = flatten(image)
        if min(rgb.size) > self.keep_side:
            factor = self.keep_side / min(rgb.size)
            rgb = rgb.resize((max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor))),
                             Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        rgb.save(buf, format="JPEG", quality=STORE_QUALITY)
        data = buf.getvalue()
        with self._lock:
            self._check_room(name, len(data))
            entry_id = self._new_id()
            entry = Entry(id=entry_id, kind=STYLE, name=name, tags=tags, source=source, licence=licence,
                          created=time.time(), file=f"{entry_id}.jpg", width=rgb.width, height=rgb.height,
                          bytes=len(data))
            private_dir(self.folder)
            write_private(self.folder / entry.file, data)
            self._write_entry(entry)   # the entry file last: an image without one is never listed
            self._entries[entry.id] = entry
            return entry

    def add_preset(self, name: Any, styles: Any, tags: Any = None, alpha: Any = 1.0, preserve_color: Any = "none",
                   scale: Any = 1.0) -> Entry:
        """Store a preset: styles of the library with weights, and the alpha, colour mode and stroke scale."""
        name, tags = check_name(name), check_tags(tags)
        checked, alpha, color, scale = check_preset(styles, alpha, preserve_color, scale, self.max_styles)
        with self._lock:
            for s in checked:
                if self._visible_style(s.id) is None:
                    raise LibraryError(f"a preset is made of library styles; {s.id!r} is not one", "invalid")
            self._check_room(name)
            entry = Entry(id=self._new_id(), kind=PRESET, name=name, tags=tags, source="preset",
                          licence="as its styles", created=time.time(), styles=checked, alpha=alpha,
                          preserve_color=color, scale=scale)
            self._write_entry(entry)
            self._entries[entry.id] = entry
            return entry

    def update(self, entry_id: str, *, name: Any = None, tags: Any = None, favourite: Any = None) -> Entry:
        """Rename, retag or (un)mark as favourite; bundled styles keep their changes in an overlay file."""
        if favourite is not None and not isinstance(favourite, bool):
            raise LibraryError("favourite must be true or false")
        with self._lock:
            entry = self.get(entry_id)
            changes: dict[str, Any] = {}
            if name is not None:
                changes["name"] = check_name(name)
                if self._name_taken(changes["name"], but=entry.id):
                    raise LibraryError(f"an entry named {changes['name']!r} is already in the library", "conflict")
            if tags is not None:
                changes["tags"] = check_tags(tags)
            if favourite is not None:
                changes["favourite"] = favourite
            entry = replace(entry, **changes)
            if entry.bundled:
                self._write_overlay(entry)
            else:
                self._write_entry(entry)
            self._entries[entry.id] = entry
            return entry

    def delete(self, entry_id: str) -> None:
        """Remove an entry (a bundled style is hidden); a style that a preset uses stays until the preset goes."""
        with self._lock:
            entry = self.get(entry_id)
            users = [e.name for e in self._visible() if e.kind == PRESET and any(s.id == entry.id for s in e.styles)]
            if users:
                raise LibraryError(f"{entry.name!r} is used by the preset(s) {', '.join(map(repr, users))}: "
                                   "remove those first", "conflict")
            if entry.bundled:
                self._write_overlay(entry, hidden=True)
                self._hidden.add(entry.id)
            else:
                remove_private(self.folder / f"{entry.id}.json")  # first: a half-removed entry is never listed
                if entry.kind == STYLE:
                    remove_private(self.folder / entry.file)
                del self._entries[entry.id]
            remove_private(self.folder / "thumbs" / f"{entry.id}.jpg")

    # ---- thumbnails ------------------------------------------------------------------------------------
    def thumbnail(self, entry_id: str) -> bytes:
        """A small JPEG of the whole image (a preset: its styles side by side), made once and kept."""
        entry = self.get(entry_id)
        path = self.folder / "thumbs" / f"{entry.id}.jpg"
        try:
            data = read_private_bytes(path)
        except UnsafeFileError:
            remove_private(path)
            data = None
        if data:
            return data
        data = make_thumbnail([self.style_image(s) for s, _ in self.expand(entry)])
        private_dir(self.folder)
        private_dir(self.folder / "thumbs")
        write_private(path, data)
        return data


def flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (a layer's empty parts read as paper, not as black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", rgba.size, (255, 255, 255))
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    return image.convert("RGB")


def make_thumbnail(images: list[Image.Image], side: int = THUMB_SIDE) -> bytes:
    """JPEG of the images side by side, each whole (fitted, never cropped), `side` px on the long side."""
    cell = side // max(1, len(images))
    sheet_h = side if len(images) == 1 else max(min(cell * im.height // max(1, im.width), side) for im in images)
    if len(images) == 1:
        one = images[0].copy()
        one.thumbnail((side, side), Image.Resampling.LANCZOS)
        sheet = one
    else:
        sheet = Image.new("RGB", (side, sheet_h), (40, 40, 40))
        for i, im in enumerate(images):
            small = im.copy()
            small.thumbnail((cell - 2, sheet_h), Image.Resampling.LANCZOS)
            sheet.paste(small, (i * cell + (cell - small.width) // 2, (sheet_h - small.height) // 2))
    buf = io.BytesIO()
    sheet.convert("RGB").save(buf, format="JPEG", quality=82)
    return buf.getvalue()
