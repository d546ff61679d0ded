"""Pixel helpers the plug-ins share: byte slicing, channel order, alpha, a PNG encoder, the answer check.

Pure Python on bytes (fast enough through slicing), because the hosts' Python has no numpy or PIL.
"""
from __future__ import annotations

import struct
import zlib
from typing import Mapping

from adastyle_plugin.errors import PluginError, RuleError
from adastyle_plugin.selection import Box


def crop(data: bytes, width: int, channels: int, box: Box) -> bytes:
    """Rows x0..x1 of y0..y1 from a row-major pixel buffer."""
    x0, y0, x1, y1 = box
    stride = width * channels
    return b"".join(data[y * stride + x0 * channels:y * stride + x1 * channels] for y in range(y0, y1))


def swap_red_blue(data: bytes) -> bytes:
    """RGBA <-> BGRA (Krita's 8-bit pixel order)."""
    out = bytearray(data)
    out[0::4], out[2::4] = data[2::4], data[0::4]
    return bytes(out)


def alpha_times_mask(rgba: bytes, mask: bytes) -> bytes:
    """RGBA whose alpha is min(alpha, mask): the result shows only where the (soft) selection is."""
    out = bytearray(rgba)
    alpha = rgba[3::4]
    out[3::4] = mask if alpha.count(255) == len(alpha) else bytes(map(min, alpha, mask))
    return bytes(out)


def check_answer(data: bytes, headers: Mapping[str, str], width: int, height: int) -> None:
    """PluginError unless the server's raw RGBA answer is exactly width x height (what was sent)."""
    lower = {k.lower(): v for k, v in headers.items()}
    got = (int(lower.get("x-width") or width), int(lower.get("x-height") or height))
    if got != (width, height) or len(data) != width * height * 4:
        raise PluginError(f"the server answered a {got[0]}x{got[1]} image ({len(data)} bytes) "
                          f"for a {width}x{height} region", code="bad_answer")


def encode_png(rgba: bytes, width: int, height: int) -> bytes:
    """A PNG of raw 8-bit RGBA pixels, with the standard library only (plug-ins have no PIL).

    Used to send pixels that are not a file, e.g. a layer chosen as the style.
    """
    if len(rgba) != width * height * 4:
        raise RuleError(f"expected {width * height * 4} bytes of RGBA for {width}x{height}, got {len(rgba)}")
    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 3))
            + chunk(b"IEND", b""))
