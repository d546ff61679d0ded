"""Build the bundled starter library from the training set: small JPEGs, a manifest with credit and licence,
and the contact sheet of all of them in docs/.

    adastyle train data                 # the training set, with its manifest (file, role, package, source, licence)
    python tools/make_starter.py        # -> core/adastyle/library/starter/, docs/library-starter.jpg

Why from the training set: its sources were chosen for licences that allow shipping, and its manifest already
names each file's package, path and licence. Each style below is picked by the start of its file name in the
set; a few are made from one (a pencil drawing of a photo, pixel art of a painting) and say so in their
credit. Nothing of the evaluation sets is ever taken: a pick whose source path is one of theirs stops the build.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "core"))

from adastyle.train.sources import EVAL_SOURCES  # noqa: E402

DATA = Path.home() / ".cache" / "adastyle" / "data"
OUT = ROOT / "core" / "adastyle" / "library" / "starter"
SHEET = ROOT / "docs" / "library-starter.jpg"
SIDE, QUALITY = 512, 85


@dataclass(frozen=True)
class Pick:
    id: str            # the entry id (lower-case, dashes)
    name: str
    tags: str          # comma-separated
    file: str          # start of the file's name in the training set's style/ (or content/) folder
    make: str = ""     # "" = as it is, or made from it: pencil, pixel, woodblock, woodcut, watercolour, crop:x,y,w,h (fractions)


PICKS: tuple[Pick, ...] = (
    # oil and impasto
    Pick("starry-night", "Starry night", "oil, impasto, swirls, blue, van gogh", "opencv-doc-starry_night-"),
    Pick("cafe-terrace", "Cafe terrace", "oil, impasto, night, yellow, van gogh", "gcompris-qt-data-Gogh4_background-"),
    Pick("church-at-auvers", "Church at Auvers", "oil, impasto, blue, van gogh",
         "gcompris-qt-data-Eglise_dAuvers-sur-Oise_background-"),
    Pick("harvest", "Harvest", "oil, landscape, yellow, van gogh", "gcompris-qt-data-VincentVanGogh0019_background-"),
    Pick("langlois-bridge", "Langlois bridge", "oil, landscape, blue, van gogh",
         "gcompris-qt-data-VincentVanGoghBridge_background-"),
    Pick("sower", "Sower", "oil, impasto, orange, van gogh", "gcompris-qt-data-VincentVanGogh0013_background-"),
    Pick("storm-at-sea", "Storm at sea", "oil, painting, dark, sea", "wesnoth-1.16-trow-trow_intro_05-"),
    Pick("sunny-meadow", "Sunny meadow", "oil, painting, landscape, warm", "wesnoth-1.16-trow-trow_intro_01-"),
    Pick("painted-portrait", "Painted portrait", "oil, painting, portrait, digital", "flare-game-female15-"),
    Pick("impasto-wall", "Impasto wall", "impasto, texture, grey, brush", "krita-data-Rough_Wall_With_Impasto-"),
    # ukiyo-e-like prints
    Pick("pere-tanguy", "Pere Tanguy", "ukiyo-e, prints, portrait, van gogh",
         "gcompris-qt-data-PortraitOfPereTanguy_background-"),
    Pick("woodblock-wave", "Woodblock wave", "ukiyo-e, woodblock, print, sea", "wesnoth-1.16-trow-trow_intro_05-",
         "woodblock"),
    Pick("woodblock-valley", "Woodblock valley", "ukiyo-e, woodblock, print, landscape",
         "wesnoth-1.16-trow-trow_story_03-", "woodblock"),
    Pick("blue-dragon", "Blue dragon", "flat, print, yellow, dragon", "openclipart-svg-china_historic-"),
    # ink and pen
    Pick("pen-strokes", "Pen strokes", "ink, pen, lines, black and white", "krita-data-09b_drawed-CrossedLines-"),
    Pick("ink-swirls", "Ink swirls", "ink, pen, swirls, black and white", "krita-data-13_drawed_swirl-"),
    Pick("stipple", "Stipple", "ink, pen, dots, black and white", "krita-data-10_drawed_dotted-"),
    Pick("spirograph", "Spirograph", "ink, pen, lines, geometric", "openclipart-svg-star_24pt11step-"),
    Pick("old-map", "Old map", "ink, pen, parchment, map", "wesnoth-1.16-data-wesnoth-86d07619"),
    Pick("nagasaki-lines", "Nagasaki lines", "ink, line art, ukiyo-e, grey", "tuxpaint-data-nagasaki-8c89e4ebe952"),
    # woodcut and engraving
    Pick("crosshatch", "Crosshatch engraving", "engraving, hatching, black and white", "krita-data-09_drawed_crosshatched-"),
    Pick("woodcut-castle", "Woodcut castle", "woodcut, black and white, print",
         "gcompris-qt-data-Neuschwanstein_background-", "woodcut"),
    Pick("bark-grain", "Bark grain", "woodcut, texture, grey, wood", "krita-data-18_texture-bark-"),
    Pick("stone-relief", "Stone relief", "engraving, relief, stone, texture", "stellarium-data-Dendera_zodiac_Louvre-"),
    # pencil
    Pick("pencil-castle", "Pencil castle", "pencil, drawing, grey", "gcompris-qt-data-EilanDonanCastle_background-",
         "pencil"),
    Pick("pencil-bridge", "Pencil bridge", "pencil, drawing, grey", "gcompris-qt-data-TowerBridgeLondon_background-",
         "pencil"),
    # watercolour and pastel
    Pick("watercolour-harbour", "Watercolour harbour", "watercolour, soft, light, sea",
         "wesnoth-1.16-trow-trow_story_13-", "watercolour"),
    Pick("watercolour-meadow", "Watercolour meadow", "watercolour, soft, light, landscape",
         "gcompris-qt-data-VincentVanGogh0019_background-", "watercolour"),
    Pick("soft-wash", "Soft wash", "pastel, soft, wash, pink, blue", "ukui-wallpapers-fluent-color-"),
    Pick("pastel-calla", "Pastel calla", "pastel, soft, pink, flat", "ukui-wallpapers-calla-"),
    # mosaic and stained glass
    Pick("tile-mosaic", "Tile mosaic", "mosaic, tiles, colourful", "gnome-backgrounds-licorice-l-"),
    Pick("leaded-mosaic", "Leaded mosaic", "mosaic, stained glass, lines, black and white", "tuxpaint-data-mosaic-"),
    Pick("stained-glass-lines", "Stained glass lines", "stained glass, lines, black and white",
         "tuxpaint-data-stained_glass-"),
    Pick("paving-tiles", "Paving tiles", "mosaic, tiles, texture, yellow", "0ad-data-road_tropic_b."),
    # flat patterns
    Pick("crosses-pattern", "Crosses pattern", "flat, pattern, colourful", "openclipart-svg-pattern-crosses-3-"),
    Pick("scales-pattern", "Scales pattern", "flat, pattern, red, yellow", "openclipart-svg-pattern-circles-2-"),
    Pick("red-maze", "Red maze", "flat, pattern, red, ornament", "openclipart-svg-simbolo_giapponese_archi_01-"),
    Pick("colour-stripes", "Colour stripes", "flat, pattern, stripes, pastel", "lomiri-wallpapers-20.04-Painting-Colors"),
    Pick("truchet", "Truchet tiles", "flat, pattern, orange", "gnome-backgrounds-truchet-l-"),
    # pixel art
    Pick("pixel-starry-night", "Pixel starry night", "pixel art, retro, blue", "opencv-doc-starry_night-", "pixel"),
    Pick("pixel-meadow", "Pixel meadow", "pixel art, retro, landscape", "wesnoth-1.16-trow-trow_intro_01-", "pixel"),
    # abstract
    Pick("psychedelic-elephants", "Psychedelic elephants", "abstract, colourful, painted", "mate-backgrounds-Elephants-"),
    Pick("ribbon", "Ribbon", "abstract, colourful, smooth", "ukui-wallpapers-rhythm-"),
    Pick("graffiti", "Graffiti", "abstract, street art, red", "opencv-doc-graf1-"),
    Pick("nebula", "Nebula", "abstract, space, dark, glow", "stellarium-data-n6302-"),
    # textures
    Pick("lava", "Lava", "texture, fire, orange, black", "0ad-data-LavaTest04."),
    Pick("rock-face", "Rock face", "texture, stone, grey", "0ad-data-alpine_cliff.dds"),
    Pick("crackle", "Crackle", "texture, cracks, grey", "krita-data-19_texture-crackle-"),
)


def manifest_rows(data: Path) -> dict[str, dict[str, str]]:
    """file -> row of the training set's manifest (the finished one, else the parts written so far)."""
    files = [data / "manifest.csv"] if (data / "manifest.csv").is_file() else sorted((data / ".parts").glob("*.csv"))
    rows: dict[str, dict[str, str]] = {}
    for f in files:
        with f.open(newline="", encoding="utf-8") as fh:
            rows.update({r["file"]: r for r in csv.DictReader(fh)})
    return rows


def find(rows: dict[str, dict[str, str]], prefix: str) -> dict[str, str]:
    hits = [r for f, r in rows.items() if Path(f).name.startswith(prefix)]
    if len(hits) != 1:
        raise SystemExit(f"{prefix!r}: {len(hits)} files of the training set start so (need exactly one)")
    row = hits[0]
    if any(bad in row["source"] for bad in EVAL_SOURCES):
        raise SystemExit(f"{prefix!r}: {row['source']} belongs to an evaluation set")
    return row


def pencil(photo: Image.Image) -> Image.Image:
    """A pencil drawing of a photo: grey, divided by a blurred copy of itself (colour dodge), on paper grain."""
    grey = np.asarray(ImageOps.grayscale(photo), dtype=np.float32)
    blurred = np.asarray(ImageOps.invert(ImageOps.grayscale(photo)).filter(ImageFilter.GaussianBlur(6)),
                         dtype=np.float32)
    out = Image.fromarray(np.clip(grey * 255 / np.maximum(1, 255 - blurred), 0, 255).astype(np.uint8))
    grain = Image.effect_noise(out.size, 18).filter(ImageFilter.GaussianBlur(0.6))
    return Image.blend(ImageOps.autocontrast(out, cutoff=1), grain, 0.12).convert("RGB")


def pixel_art(image: Image.Image, cells: int = 72, colours: int = 16) -> Image.Image:
    """Pixel art of a picture: `cells` blocks on its long side, `colours` colours, blown up without smoothing."""
    factor = cells / max(image.size)
    small = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                         Image.Resampling.BOX).quantize(colours, dither=Image.Dither.NONE).convert("RGB")
    return small.resize((small.width * (SIDE // cells), small.height * (SIDE // cells)), Image.Resampling.NEAREST)


def woodblock(image: Image.Image, colours: int = 7) -> Image.Image:
    """A woodblock-print look: flat areas of a few colours with dark outlines where they meet."""
    flat = image.filter(ImageFilter.MedianFilter(5)).filter(ImageFilter.MedianFilter(5))
    flat = flat.quantize(colours, dither=Image.Dither.NONE).convert("RGB")
    edges = np.asarray(ImageOps.grayscale(flat).filter(ImageFilter.FIND_EDGES)) > 24
    ink = np.asarray(flat).copy()
    ink[edges] = (ink[edges] * 0.25).astype(np.uint8)
    return Image.fromarray(ink)


def woodcut(photo: Image.Image) -> Image.Image:
    """Black ink on paper: the photo's tones cut to two at their median."""
    grey = np.asarray(ImageOps.autocontrast(ImageOps.grayscale(photo)).filter(ImageFilter.GaussianBlur(1.2)))
    paper = grey > np.median(grey)
    out = np.where(paper[..., None], np.array([244, 236, 220], np.uint8), np.array([28, 22, 20], np.uint8))
    return Image.fromarray(out.astype(np.uint8))


def watercolour(image: Image.Image) -> Image.Image:
    """A watercolour look: colours smoothed into washes, lightened toward the paper, darker where washes meet."""
    wash = image
    for _ in range(3):
        wash = wash.filter(ImageFilter.MedianFilter(7))
    wash = wash.quantize(12, dither=Image.Dither.NONE).convert("RGB").filter(ImageFilter.GaussianBlur(2))
    light = np.asarray(wash, np.float32) * 0.7 + 255 * 0.3
    edges = np.asarray(ImageOps.grayscale(wash).filter(ImageFilter.FIND_EDGES), np.float32)[..., None]
    grain = np.asarray(Image.effect_noise(image.size, 10).filter(ImageFilter.GaussianBlur(1)), np.float32)[..., None]
    out = light * (1 - np.clip(edges / 255 * 1.5, 0, 0.35)) + (grain - 128) * 0.4
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def made(image: Image.Image, how: str) -> Image.Image:
    if how.startswith("crop:"):
        x, y, w, h = (float(v) for v in how[5:].split(","))
        W, H = image.size
        return image.crop((round(x * W), round(y * H), round((x + w) * W), round((y + h) * H)))
    return {"": lambda im: im, "pencil": pencil, "pixel": pixel_art, "woodblock": woodblock,
            "woodcut": woodcut, "watercolour": watercolour}[how](image)


MADE_NOTE = {"pencil": "pencil drawing made from the photo", "pixel": "pixel art made from the picture",
             "woodblock": "woodblock-print look made from the picture", "woodcut": "woodcut look made from the photo",
             "watercolour": "watercolour look made from the picture",
             "crop": "a part of the picture"}


def build(data: Path, out: Path, sheet: Path) -> list[dict]:
    rows = manifest_rows(data)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.jpg"):
        old.unlink()
    entries = []
    for pick in PICKS:
        row = find(rows, pick.file)
        image = Image.open(data / row["file"]).convert("RGB")
        if pick.make.startswith("crop:"):  # a part at full resolution; the looks are made at the shipped size
            image = made(image, pick.make)
        image.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
        if pick.make and not pick.make.startswith("crop:"):
            image = made(image, pick.make)
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=QUALITY, optimize=True)
        (out / f"{pick.id}.jpg").write_bytes(buf.getvalue())
        note = MADE_NOTE.get(pick.make.split(":")[0]) if pick.make else None
        package = row["package"].replace("pypi:", "PyPI ") if row["package"].startswith("pypi:") \
            else f"Debian package {row['package']}"
        entries.append({"id": pick.id, "name": pick.name, "tags": [t.strip() for t in pick.tags.split(",")],
                        "file": f"{pick.id}.jpg", "width": image.width, "height": image.height,
                        "source": f"{package}: {row['source']}" + (f" ({note})" if note else ""),
                        "licence": row["licence"]})
    (out / "manifest.json").write_text(json.dumps({"styles": entries}, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    contact_sheet(out, entries, sheet)
    return entries


def contact_sheet(folder: Path, entries: list[dict], path: Path, cell: int = 180, columns: int = 8) -> None:
    """Every bundled style, whole (never cropped), with its name: the library at a glance."""
    rows = -(-len(entries) // columns)
    sheet = Image.new("RGB", (columns * cell, rows * (cell + 18)), (250, 250, 248))
    draw = ImageDraw.Draw(sheet)
    for i, e in enumerate(entries):
        im = Image.open(folder / e["file"])
        im.thumbnail((cell - 8, cell - 8), Image.Resampling.LANCZOS)
        x, y = (i % columns) * cell, (i // columns) * (cell + 18)
        sheet.paste(im, (x + (cell - im.width) // 2, y + 4 + (cell - 8 - im.height) // 2))
        draw.text((x + 6, y + cell - 2), e["name"][:28], fill=(30, 30, 30))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=84, optimize=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=DATA, help="the training set (with manifest.csv)")
    args = p.parse_args()
    entries = build(args.data, OUT, SHEET)
    size = sum(f.stat().st_size for f in OUT.glob("*.jpg"))
    print(f"{len(entries)} styles, {size / 1e6:.2f} MB in {OUT}; contact sheet {SHEET}")


if __name__ == "__main__":
    main()
