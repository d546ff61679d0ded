"""A tiny model of the Krita API the plug-in uses: documents, paint layers, selections, pixel data.

Pixels are Krita's 8-bit BGRA (4 bytes per pixel) held as bytearrays, so reading and writing can be
checked byte for byte. Also a stand-in for the plug-in's `qt` module (QByteArray, QTimer, to_bytes).
"""
from __future__ import annotations

import types
from typing import Any


class Node:
    def __init__(self, name: str, width: int, height: int, bgra: bytes | None = None, kind: str = "paintlayer",
                 model: str = "RGBA", depth: str = "U8") -> None:
        self._name, self._type, self.model, self.depth, self.profile = name, kind, model, depth, "sRGB"
        self.w, self.h = width, height
        self.data = bytearray(bgra if bgra is not None else bytes(width * height * 4))
        self.parent: Node | None = None
        self.children: list[Node] = []
        self.locked = False
        self.writes = 0
        self.keys: dict[int, bytearray] | None = None  # keyframes (time -> pixels) of an animated layer
        self.clock: Any = lambda: 0  # the document's time, for an animated layer

    # ---- animation: the pixels are the keyframe held at the image's time, attached or not (as in Krita, where
    # a layer's frames follow the image's clock even before the layer is added to it) -----------------------
    @property
    def data(self) -> bytearray:
        if self.keys:
            return self.keys[self.key_at(self.clock())]
        return self._data

    @data.setter
    def data(self, value: bytearray) -> None:
        self._data = value

    def key_at(self, time: int) -> int:
        held = [t for t in self.keys or () if t <= time]
        return max(held) if held else min(self.keys or (0,))

    def animate(self, keys: dict[int, bytes], clock: Any) -> Node:
        """Test helper: make this an animated layer with these keyframes, following `clock` (the document's)."""
        self.keys = {t: bytearray(px) for t, px in keys.items()}
        self.clock = clock
        return self

    def animated(self) -> bool:
        return self.keys is not None

    def hasKeyframeAtTime(self, time: int) -> bool:  # noqa: N802
        return self.keys is not None and time in self.keys

    def pixelDataAtTime(self, x: int, y: int, w: int, h: int, time: int) -> bytes:  # noqa: N802
        clock = self.clock
        self.clock = lambda: time
        try:
            return self.pixelData(x, y, w, h)
        finally:
            self.clock = clock

    def duplicate(self) -> Node:
        copy = Node(self._name, self.w, self.h, bytes(self._data), self._type, self.model, self.depth)
        if self.keys is not None:
            copy.animate({t: bytes(px) for t, px in self.keys.items()}, self.clock)
        return copy

    def setName(self, name: str) -> None:  # noqa: N802
        self._name = name

    def name(self) -> str:
        return self._name

    def type(self) -> str:
        return self._type

    def colorModel(self) -> str:  # noqa: N802 - Krita's names
        return self.model

    def colorDepth(self) -> str:  # noqa: N802
        return self.depth

    def colorProfile(self) -> str:  # noqa: N802
        return self.profile

    def setColorSpace(self, model: str, depth: str, profile: str) -> None:  # noqa: N802
        self.model, self.depth, self.profile = model, depth, profile

    def setColorProfile(self, profile: str) -> None:  # noqa: N802
        self.profile = profile

    def uniqueId(self) -> int:  # noqa: N802
        return id(self)

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:  # noqa: N802
        out = bytearray()
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                inside = 0 <= xx < self.w and 0 <= yy < self.h
                out += self.data[(yy * self.w + xx) * 4:(yy * self.w + xx) * 4 + 4] if inside else b"\0\0\0\0"
        return bytes(out)

    def setPixelData(self, data: Any, x: int, y: int, w: int, h: int) -> None:  # noqa: N802
        data = bytes(data)
        for yy in range(h):
            for xx in range(w):
                i = ((y + yy) * self.w + (x + xx)) * 4
                self.data[i:i + 4] = data[(yy * w + xx) * 4:(yy * w + xx) * 4 + 4]
        self.writes += 1

    def parentNode(self) -> Node | None:  # noqa: N802
        return self.parent

    def childNodes(self) -> list[Node]:  # noqa: N802
        return list(self.children)

    def addChildNode(self, child: Node, above: Node | None) -> None:  # noqa: N802
        child.parent = self
        self.children.insert(self.children.index(above) + 1 if above in self.children else 0, child)

    def bounds(self) -> Selection:
        """The whole layer, as a rectangle with Krita's accessors (Krita gives the painted part; the plug-in
        only clears and reads inside it)."""
        return Selection(self.w, self.h, (0, 0, self.w, self.h))

    def setLocked(self, locked: bool) -> None:  # noqa: N802
        self.locked = locked

    def remove(self) -> None:
        if self.parent is not None:
            self.parent.children.remove(self)
            self.parent = None


class Selection:
    """An 8-bit selection over the whole image (1 byte per pixel), with Krita's bounds."""

    def __init__(self, width: int, height: int, box: tuple[int, int, int, int], value: int = 255) -> None:
        self.w, self.h = width, height
        self.data = bytearray(width * height)
        x0, y0, x1, y1 = box
        for y in range(y0, y1):
            self.data[y * width + x0:y * width + x1] = bytes([value]) * (x1 - x0)
        self.box = box

    def x(self) -> int:
        return self.box[0]

    def y(self) -> int:
        return self.box[1]

    def width(self) -> int:
        return self.box[2] - self.box[0]

    def height(self) -> int:
        return self.box[3] - self.box[1]

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:  # noqa: N802
        return b"".join(bytes(self.data[yy * self.w + x:yy * self.w + x + w]) for yy in range(y, y + h))


class Document:
    def __init__(self, width: int, height: int, selection: Selection | None = None) -> None:
        self.w, self.h = width, height
        self.root = Node("root", width, height, kind="grouplayer")
        self._selection = selection
        self.active: Node | None = None
        self.refreshed = 0
        self.time = 0
        self.clip_end = 10  # the animation's last frame
        self.times_shown: list[int] = []

    def add(self, node: Node) -> Node:
        self.root.addChildNode(node, self.root.children[-1] if self.root.children else None)
        return node

    def width(self) -> int:
        return self.w

    def height(self) -> int:
        return self.h

    def selection(self) -> Selection | None:
        return self._selection

    def rootNode(self) -> Node:  # noqa: N802
        return self.root

    def createNode(self, name: str, kind: str) -> Node:  # noqa: N802
        return Node(name, self.w, self.h, kind=kind)

    def refreshProjection(self) -> None:  # noqa: N802
        self.refreshed += 1

    def waitForDone(self) -> None:  # noqa: N802
        pass

    def nodeByUniqueID(self, uid: int) -> Node | None:  # noqa: N802
        stack = list(self.root.children)
        while stack:
            n = stack.pop()
            if n.uniqueId() == uid:
                return n
            stack += n.children
        return None

    def setActiveNode(self, node: Node) -> None:  # noqa: N802
        self.active = node

    def currentTime(self) -> int:  # noqa: N802
        return self.time

    def setCurrentTime(self, time: int) -> None:  # noqa: N802
        """Every animated layer shows its keyframe at `time` (Krita switches the whole image)."""
        self.time = time
        self.times_shown.append(time)

    def fullClipRangeEndTime(self) -> int:  # noqa: N802
        return self.clip_end

    def playBackEndTime(self) -> int:  # noqa: N802
        return self.clip_end


class _Timer:
    @staticmethod
    def singleShot(_ms: int, fn: Any) -> None:  # noqa: N802 - Qt's name; runs at once in tests
        fn()


def qt_module() -> types.ModuleType:
    """Stand-in for adastyle_krita.qt: what layers.py takes from it."""
    m = types.ModuleType("adastyle_krita.qt")
    m.QByteArray = bytes
    m.QTimer = _Timer
    m.to_bytes = lambda value: bytes(value)
    return m
