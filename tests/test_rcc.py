"""The Qt resource-bundle reader that takes GCompris photos out of their .rcc files."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from adastyle.train.rcc import COMPRESSED_ZLIB, DIRECTORY, RccBundle, RccError, extract


def build_rcc(version: int = 3) -> bytes:
    """A bundle laid out as Qt's rcc writes it: root/{photos/{a.webp (zlib), b.txt}, top.png}."""
    names, name_at = b"", {}
    for n in ("photos", "top.png", "a.webp", "b.txt"):
        name_at[n] = len(names)
        names += struct.pack(">HI", len(n), 0) + n.encode("utf-16-be")
    payload, data_at = b"", {}
    blobs = {"top.png": (b"PNG-bytes", 0), "a.webp": (b"RIFF" + bytes(range(200)) * 5, COMPRESSED_ZLIB),
             "b.txt": (b"hello", 0)}
    for n, (raw, flags) in blobs.items():
        stored = struct.pack(">I", len(raw)) + zlib.compress(raw) if flags & COMPRESSED_ZLIB else raw
        data_at[n] = len(payload)
        payload += struct.pack(">I", len(stored)) + stored
    mtime = b"\0" * 8 if version >= 2 else b""

    def node_dir(name_off: int, count: int, first: int) -> bytes:
        return struct.pack(">IHII", name_off, DIRECTORY, count, first) + mtime

    def node_file(name: str) -> bytes:
        return struct.pack(">IHHHI", name_at[name], blobs[name][1], 0, 0, data_at[name]) + mtime

    tree = node_dir(0, 2, 1) + node_dir(name_at["photos"], 2, 3) + node_file("top.png") \
        + node_file("a.webp") + node_file("b.txt")
    header_len = 24 if version >= 3 else 20
    data_off = header_len
    names_off = data_off + len(payload)
    tree_off = names_off + len(names)
    header = b"qres" + struct.pack(">IIII", version, tree_off, data_off, names_off)
    if version >= 3:
        header += struct.pack(">I", 0)
    return header + payload + names + tree


@pytest.mark.parametrize("version", [1, 2, 3])
def test_reads_every_file_with_its_path_and_bytes(version) -> None:
    files = dict(RccBundle(build_rcc(version)).files())
    assert files == {"top.png": b"PNG-bytes", "photos/a.webp": b"RIFF" + bytes(range(200)) * 5,
                     "photos/b.txt": b"hello"}


def test_extract_filters_by_suffix_and_keeps_folders(tmp_path: Path) -> None:
    src = tmp_path / "bundle.rcc"
    src.write_bytes(build_rcc())
    written = extract(src, tmp_path / "out", (".webp", ".png"))
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == ["photos/a.webp", "top.png"]
    assert (tmp_path / "out" / "photos" / "a.webp").read_bytes().startswith(b"RIFF")


def test_not_a_bundle_is_a_clear_error() -> None:
    with pytest.raises(RccError, match="qres"):
        RccBundle(b"PK\x03\x04 a zip file")
    with pytest.raises(RccError, match="version"):
        RccBundle(b"qres" + struct.pack(">IIII", 9, 0, 0, 0))
    from adastyle.errors import AdaStyleError

    with pytest.raises(AdaStyleError):  # under the one error root, like every error AdaStyle raises on purpose
        RccBundle(b"")
