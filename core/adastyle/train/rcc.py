"""Read Qt binary resource bundles (`.rcc`), to take training photos out of gcompris-qt-data.

Why our own reader: GCompris ships about 280 photos (animals, monuments, objects) only inside `.rcc`
bundles, and the Qt tool that unpacks them (`rcc --list` does not extract) is not part of a Python install.
The format (Qt's rcc.cpp, versions 1-3): a header, a tree of 14-byte nodes (22 from version 2, which adds a
modification time), a name table (UTF-16) and a data table; each file's bytes may be zlib- or
zstd-compressed.
"""
from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

from adastyle.errors import AdaStyleError

COMPRESSED_ZLIB = 0x01
DIRECTORY = 0x02
COMPRESSED_ZSTD = 0x04


class RccError(AdaStyleError, ValueError):
    """The file is not a Qt resource bundle this reader understands (a ValueError too: it is bad input)."""


def _decompress_zstd(blob: bytes) -> bytes:
    try:
        import zstandard
    except ImportError as exc:  # only needed when a bundle uses zstd; gcompris-qt-data 3.1 does not
        raise RccError("a zstd-compressed entry needs the 'zstandard' package") from exc
    return zstandard.ZstdDecompressor().decompress(blob, max_output_size=1 << 30)


class RccBundle:
    """One `.rcc` file: iterate over (path inside the bundle, file bytes)."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"qres":
            raise RccError("not a Qt resource bundle (no 'qres' magic)")
        self.data = data
        self.version, self.tree, self.payload, self.names = struct.unpack(">IIII", data[4:20])
        if self.version not in (1, 2, 3):
            raise RccError(f"unsupported rcc version {self.version}")
        self.node_size = 14 if self.version == 1 else 22

    @classmethod
    def open(cls, path: Path) -> RccBundle:
        return cls(Path(path).read_bytes())

    def _name(self, offset: int) -> str:
        at = self.names + offset
        (length,) = struct.unpack(">H", self.data[at:at + 2])
        return self.data[at + 6:at + 6 + 2 * length].decode("utf-16-be")

    def _node(self, index: int) -> tuple[str, int, int, int]:
        at = self.tree + index * self.node_size
        name_off, flags = struct.unpack(">IH", self.data[at:at + 6])
        a, b = struct.unpack(">II", self.data[at + 6:at + 14])  # dir: (count, first child); file: (locale, data)
        return (self._name(name_off) if index else ""), flags, a, b

    def _file_bytes(self, offset: int, flags: int) -> bytes:
        at = self.payload + offset
        (size,) = struct.unpack(">I", self.data[at:at + 4])
        blob = self.data[at + 4:at + 4 + size]
        if flags & COMPRESSED_ZLIB:
            return zlib.decompress(blob[4:])  # qCompress format: 4-byte big-endian length, then zlib
        if flags & COMPRESSED_ZSTD:
            return _decompress_zstd(blob)
        return blob

    def files(self) -> Iterator[tuple[str, bytes]]:
        """Every file in the bundle, depth first, as ('dir/sub/name.ext', bytes)."""
        stack = [(0, "")]
        while stack:
            index, prefix = stack.pop()
            name, flags, a, b = self._node(index)
            path = f"{prefix}/{name}" if prefix else name
            if flags & DIRECTORY:
                stack.extend((b + i, path) for i in range(a))  # a = child count, b = first child
            else:
                yield path, self._file_bytes(b, flags)


def extract(path: Path, dest: Path, suffixes: tuple[str, ...] = ()) -> list[Path]:
    """Write the bundle's files (optionally only those ending in `suffixes`) under `dest`; return them."""
    written = []
    for name, blob in RccBundle.open(path).files():
        if suffixes and not name.lower().endswith(suffixes):
            continue
        out = dest / name.lstrip("/")
        if ".." in Path(name).parts:
            raise RccError(f"unsafe path in bundle: {name}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(blob)
        written.append(out)
    return written
