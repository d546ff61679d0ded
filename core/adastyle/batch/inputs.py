"""What a batch run stylises: files, folders (recursively, keeping the tree), videos, frame sequences.

Each input becomes one `Item` with the path its output goes to, so the plan is known (and clashes refused)
before any frame is stylised, and `--resume` can tell finished outputs from unfinished ones by name.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from adastyle.batch.video import VIDEO_SUFFIXES
from adastyle.errors import UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
OUTPUT_FORMATS = ("keep", "png", "jpg", "webp")


@dataclass(frozen=True)
class Item:
    """One unit of work: an image, a video (one output file) or a sequence of frame images (a folder's images
    in name order, stylised with statistics smoothed across them; one output per frame)."""
    kind: Literal["image", "video", "sequence"]
    source: Path
    target: Path                                  # output file; for a sequence, its output folder
    frames: tuple[Path, ...] = ()                 # a sequence's frame files
    targets: tuple[Path, ...] = field(default=()) # a sequence's output files, one per frame


def _out_name(path: Path, fmt: str) -> str:
    if fmt == "keep" or path.suffix.lower() in VIDEO_SUFFIXES:
        return path.name
    return path.with_suffix("." + fmt).name


def plan(inputs: Sequence[str | Path], output: str | Path, *, fmt: str = "keep",
         sequences: bool = False) -> tuple[list[Item], list[Path]]:
    """Items to stylise and the files that were left out (not images or videos, by their suffix).

    A file goes to OUTPUT/<name>; a folder's files go to OUTPUT/<path inside the folder>. With `sequences`,
    the images directly inside each folder form one sequence (frames of an animation), else each is alone.
    """
    if fmt not in OUTPUT_FORMATS:
        raise UserError(f"format must be one of {', '.join(OUTPUT_FORMATS)}, got {fmt!r}")
    out = Path(output)
    items: list[Item] = []
    ignored: list[Path] = []
    for raw in inputs:
        src = Path(raw)
        if not src.exists():
            raise UserError(f"{src}: no such file or folder")
        if src.is_file():
            kind = _kind(src)
            if kind is None:
                raise UserError(f"{src}: not an image or video (by its suffix: {src.suffix or 'none'})")
            items.append(Item(kind, src, out / _out_name(src, fmt)))
            continue
        files = sorted(p for p in src.rglob("*") if p.is_file() and not p.name.startswith("."))
        by_folder: dict[Path, list[Path]] = {}
        for f in files:
            kind = _kind(f)
            if kind is None:
                ignored.append(f)
            elif kind == "image" and sequences:
                by_folder.setdefault(f.parent, []).append(f)
            else:
                items.append(Item(kind, f, out / f.relative_to(src).parent / _out_name(f, fmt)))
        for folder, frames in sorted(by_folder.items()):
            dest = out / folder.relative_to(src)
            items.append(Item("sequence", folder, dest, tuple(frames),
                              tuple(dest / _out_name(f, fmt) for f in frames)))
    _check_clashes(items)
    return items, ignored


def _kind(path: Path) -> Literal["image", "video"] | None:
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    return None


def _check_clashes(items: list[Item]) -> None:
    seen: dict[Path, Path] = {}
    for it in items:
        pairs = zip(it.frames, it.targets) if it.kind == "sequence" else [(it.source, it.target)]
        for src, dst in pairs:
            key = dst.resolve()
            if key in seen:
                raise UserError(f"{src} and {seen[key]} would both be written to {dst}")
            seen[key] = src
            if key == src.resolve():
                raise UserError(f"{src}: the output would overwrite the input (choose another -o folder)")
