"""Reading images: only the allowed formats are decoded, and styles are reduced while decoding."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from adastyle.imageio import ImageError, open_image


def encoded(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["ICO", "TGA", "PPM", "PCX", "EPS"])
def test_other_formats_are_never_decoded(fmt) -> None:
    im = Image.new("RGB", (64, 64), (9, 9, 9))
    try:
        data = encoded(im, fmt)
    except (OSError, KeyError):  # EPS needs Ghostscript to write; a header is enough to be refused
        data = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 12000 12000\n"
    with pytest.raises(ImageError, match="PNG, JPEG, WebP, TIFF, BMP or GIF"):
        open_image(data, name="x")


def test_ico_bomb_is_refused_before_decoding() -> None:
    # An ICO whose one entry is a PNG of 12000x12000: Pillow's ICO reader decodes it inside Image.open.
    big = encoded(Image.new("L", (12000, 12000)), "PNG", optimize=True)
    header = (b"\x00\x00\x01\x00\x01\x00" + bytes([0, 0, 0, 0]) + (1).to_bytes(2, "little") + (32).to_bytes(2, "little")
              + len(big).to_bytes(4, "little") + (22).to_bytes(4, "little"))
    with pytest.raises(ImageError, match="format we read"):
        open_image(header + big, name="bomb.ico")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF"])
def test_allowed_formats_open_and_reduce_to_at_least_the_short_side(fmt) -> None:
    im = Image.new("RGB", (3000, 2000), (200, 100, 50))
    out = open_image(encoded(im, fmt), name=f"s.{fmt}", short_side=512)
    assert 512 <= min(out.size) < 1024, out.size
    assert abs(out.width / out.height - 1.5) < 0.01
    assert open_image(encoded(im, fmt), name=f"s.{fmt}").size == (3000, 2000)
