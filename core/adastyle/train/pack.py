"""`adastyle train pack`: a small training set that travels inside a working tree to a GPU machine.

Content photos are stored at a short side of 512 px (the paper's scale, so 256 px crops see what 512 px
images show at inference; the `content_side` knob trades that for size) and styles at 512x512 centre crops,
as JPEG; the whole pack (with the manifest) stays under a size budget (default 50 MB) by lowering JPEG quality.
A wide style set (well over a thousand images) fits with `style_crop` 256: the centre 256x256 of each style at
its 512 px scale, exactly what `train --style-side 256` takes its statistics from, at a quarter of the bytes.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image, ImageOps

from adastyle.errors import UserError


class PackTooLarge(UserError):
    """The training set does not fit the size budget even at the lowest JPEG quality tried."""


def _write(src: Path, dst: Path, short: int, square: bool, quality: int, crop: int = 0) -> int:
    with Image.open(src) as im:
        im = im.convert("RGB")
        s = short / min(im.size)
        if s < 1:
            im = im.resize((round(im.width * s), round(im.height * s)), Image.Resampling.LANCZOS)
        if square:
            im = ImageOps.fit(im, (min(im.size), min(im.size)))
        if crop and min(im.size) > crop:
            left, top = (im.width - crop) // 2, (im.height - crop) // 2
            im = im.crop((left, top, left + crop, top + crop))
        im.save(dst, quality=quality)
    return dst.stat().st_size


def make_pack(data: Path, out: Path, budget_mb: float = 50.0, content_side: int = 512, style_crop: int = 0) -> Path:
    """Write out/content, out/style and out/manifest.csv; returns out. PackTooLarge past the budget; a UserError
    when `data` is not a training set (the command names the folder, not a missing file inside it)."""
    if not (data / "manifest.csv").is_file():
        raise UserError(f"{data}: not a training set (no manifest.csv); build one with `adastyle train data`")
    for quality in (88, 80, 70, 60, 50):
        if out.exists():
            shutil.rmtree(out)
        total = 0
        for role, short, square in (("content", content_side, False), ("style", 512, True)):
            (out / role).mkdir(parents=True)
            for p in sorted((data / role).glob("*.jpg")):
                total += _write(p, out / role / p.name, short, square, quality, style_crop if square else 0)
        shutil.copy(data / "manifest.csv", out / "manifest.csv")
        if total <= budget_mb * 1e6:
            return out
    raise PackTooLarge(f"the pack is {total / 1e6:.1f} MB even at JPEG quality 50, over the budget of {budget_mb:g} MB: "
                       "raise --budget-mb, or make it smaller with --content-side or --style-crop")
