"""A tiny stand-in for GIMP 3's introspection API (gi.repository.Gimp, Gegl, GLib, GObject).

Enough for the GIMP plug-in to import and for its GIMP-facing functions to run: images with layers,
offsets and a selection, Gegl buffers that read and write bytes, undo groups that are counted, and the
PDB status enum. install() puts `gi` and `gi.repository` into sys.modules.
"""
from __future__ import annotations

import enum
import sys
import types
from typing import Any


class PDBStatusType(enum.Enum):
    SUCCESS = "success"
    CANCEL = "cancel"
    CALLING_ERROR = "calling-error"
    EXECUTION_ERROR = "execution-error"


class Rectangle:
    def __init__(self, x: int, y: int, w: int, h: int) -> None:
        self.x, self.y, self.width, self.height = x, y, w, h

    @classmethod
    def new(cls, x: int, y: int, w: int, h: int) -> Rectangle:
        return cls(x, y, w, h)


class Buffer:
    """Pixels of `channels` bytes each over width x height; outside reads give zeros."""

    def __init__(self, width: int, height: int, channels: int, data: bytes | None = None) -> None:
        self.w, self.h, self.c = width, height, channels
        self.data = bytearray(data if data is not None else bytes(width * height * channels))
        self.reads: list[tuple[int, int, int, int, str]] = []

    def get(self, rect: Rectangle, _scale: float, fmt: str, _abyss: Any) -> bytes:
        self.reads.append((rect.x, rect.y, rect.width, rect.height, fmt))
        out = bytearray()
        for y in range(rect.y, rect.y + rect.height):
            for x in range(rect.x, rect.x + rect.width):
                inside = 0 <= x < self.w and 0 <= y < self.h
                i = (y * self.w + x) * self.c
                out += self.data[i:i + self.c] if inside else bytes(self.c)
        return bytes(out)

    def set(self, rect: Rectangle, _fmt: str, data: bytes) -> None:
        if len(data) != rect.width * rect.height * self.c:
            raise ValueError(f"{len(data)} bytes for a {rect.width}x{rect.height} rectangle")
        for y in range(rect.height):
            for x in range(rect.width):
                i = ((rect.y + y) * self.w + rect.x + x) * self.c
                self.data[i:i + self.c] = data[(y * rect.width + x) * self.c:(y * rect.width + x + 1) * self.c]

    def flush(self) -> None:
        pass


class Drawable:
    def __init__(self, name: str, width: int, height: int, offsets: tuple[int, int] = (0, 0),
                 data: bytes | None = None) -> None:
        self.name, self.w, self.h, self.offsets = name, width, height, offsets
        self.buffer = Buffer(width, height, 4, data)
        self.image: Image | None = None
        self.parent = None
        self.mask_type: Any = None

    def get_name(self) -> str:
        return self.name

    def get_width(self) -> int:
        return self.w

    def get_height(self) -> int:
        return self.h

    def get_offsets(self) -> tuple[bool, int, int]:
        return True, self.offsets[0], self.offsets[1]

    def set_offsets(self, x: int, y: int) -> None:
        self.offsets = (x, y)

    def get_buffer(self) -> Buffer:
        return self.buffer

    def get_parent(self) -> Any:
        return self.parent

    def get_image(self) -> Image | None:
        return self.image

    def update(self, *_args: int) -> None:
        pass

    def create_mask(self, kind: Any) -> Any:
        return kind

    def add_mask(self, mask: Any) -> None:
        self.mask_type = mask


class Layer(Drawable):
    @classmethod
    def new(cls, image: Image, name: str, width: int, height: int, _kind: Any, _opacity: float, _mode: Any) -> Layer:
        return cls(name, width, height)


class LayerMask(Drawable):
    pass


class Image:
    def __init__(self, width: int, height: int, gray: bool = False) -> None:
        self.w, self.h, self.gray = width, height, gray
        self.layers: list[Layer] = []  # top first, as GIMP's positions
        self.selection = Buffer(width, height, 1)
        self.selected: tuple[int, int, int, int] | None = None
        self.undo_depth = 0
        self.undo_groups = 0

    def add(self, layer: Layer) -> Layer:
        layer.image = self
        self.layers.append(layer)
        return layer

    def select(self, box: tuple[int, int, int, int], value: int = 255) -> None:
        x0, y0, x1, y1 = box
        for y in range(y0, y1):
            self.selection.data[y * self.w + x0:y * self.w + x1] = bytes([value]) * (x1 - x0)
        self.selected = box

    def get_selection(self) -> Drawable:
        sel = Drawable("selection", self.w, self.h)
        sel.buffer = self.selection
        return sel

    def get_layers(self) -> list[Layer]:
        return list(self.layers)

    def get_width(self) -> int:
        return self.w

    def get_height(self) -> int:
        return self.h

    def get_base_type(self) -> Any:
        return ImageBaseType.GRAY if self.gray else ImageBaseType.RGB

    def get_item_position(self, item: Layer) -> int:
        return self.layers.index(item)

    def insert_layer(self, layer: Layer, _parent: Any, position: int) -> None:
        layer.image = self
        self.layers.insert(position, layer)

    def remove_layer(self, layer: Layer) -> None:
        self.layers.remove(layer)
        layer.image = None

    def undo_group_start(self) -> None:
        self.undo_depth += 1
        self.undo_groups += 1

    def undo_group_end(self) -> None:
        self.undo_depth -= 1


class Selection:
    @staticmethod
    def bounds(image: Image) -> tuple[bool, bool, int, int, int, int]:
        if image.selected is None:
            return True, False, 0, 0, image.w, image.h
        return (True, True, *image.selected)


class _Names:
    """An enum-like namespace whose members are their own names."""

    def __init__(self, *names: str) -> None:
        for n in names:
            setattr(self, n, n)


ImageBaseType = _Names("RGB", "GRAY")


class GLibError:
    def __init__(self, message: str = "") -> None:
        self.message = message


class PlugIn:
    pass


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def install() -> None:
    """Put the stand-ins into sys.modules as gi and gi.repository.{Gimp, Gegl, GLib, GObject}."""
    progress: list[Any] = []
    gimp = _module("gi.repository.Gimp", PDBStatusType=PDBStatusType, Layer=Layer, LayerMask=LayerMask,
                   Drawable=Drawable, Image=Image, Selection=Selection, PlugIn=PlugIn, ImageBaseType=ImageBaseType,
                   ImageType=_Names("RGBA_IMAGE", "GRAYA_IMAGE"), LayerMode=_Names("NORMAL"),
                   AddMaskType=_Names("SELECTION"), RunMode=_Names("INTERACTIVE", "NONINTERACTIVE"),
                   Procedure=object, ProcedureConfig=object, ValueArray=object, progress=progress,
                   progress_init=progress.append, progress_set_text=progress.append,
                   progress_update=progress.append, progress_end=lambda: progress.append("end"),
                   displays_flush=lambda: None)
    gegl = _module("gi.repository.Gegl", Rectangle=Rectangle, Buffer=Buffer, AbyssPolicy=_Names("NONE", "CLAMP"),
                   init=lambda _args: None)
    glib = _module("gi.repository.GLib", Error=GLibError)
    gobject = _module("gi.repository.GObject", ParamFlags=_Names("READWRITE"))
    repository = _module("gi.repository", Gimp=gimp, Gegl=gegl, GLib=glib, GObject=gobject)
    gi = _module("gi", require_version=lambda *_a: None, repository=repository)
    sys.modules.update({"gi": gi, "gi.repository": repository, "gi.repository.Gimp": gimp,
                        "gi.repository.Gegl": gegl, "gi.repository.GLib": glib, "gi.repository.GObject": gobject})
