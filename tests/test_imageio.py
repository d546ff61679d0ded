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


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` (the first bytes of a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [60000, 12000])  # over twice Pillow's own limit, and over ours only
def test_a_huge_header_gets_our_words_not_pillows(side: int) -> None:
    from adastyle.imageio import ImageTooLarge

    with pytest.raises(ImageTooLarge) as err:
        open_image(png_header(side, side), name="content")
    text = str(err.value)
    assert f"{side * side:,} pixels, over the limit" in text and "reduce the image first" in text, text
    assert "decompression" not in text.lower() and "DOS" not in text


def test_an_image_between_pillows_limit_and_ours_opens_without_pillows_warning(tmp_path) -> None:
    """95 Mpx: over Pillow's warning size (89 Mpx), under our limit (100 Mpx): no DecompressionBombWarning
    on stderr (in a fresh process with Python's default warning filters, as the CLI runs)."""
    import subprocess
    import sys

    path = tmp_path / "big.png"
    path.write_bytes(png_header(10000, 9500))
    code = ("from adastyle.imageio import open_image, ImageError\n"
            f"try:\n    open_image({str(path)!r})\nexcept ImageError as exc:\n    print(exc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "corrupt or truncated" in r.stdout, r.stdout + r.stderr  # only a header: decoding stops there
    assert "decompression" not in r.stderr.lower(), r.stderr


def test_the_cli_reports_a_huge_image_in_one_line_of_our_words(tmp_path) -> None:
    import subprocess
    import sys

    from conftest import EXAMPLES

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(60000, 60000))
    r = subprocess.run([sys.executable, "-m", "adastyle.cli", "stylize", str(bomb), "-s", str(EXAMPLES / "style-swamp.jpg"),
                        "-o", str(tmp_path / "out.png")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "3,600,000,000 pixels, over the limit" in r.stderr and "decompression" not in r.stderr.lower()
