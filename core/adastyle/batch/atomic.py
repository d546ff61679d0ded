"""Atomic outputs: a file is written under a hidden partial name beside its target and renamed into place.

Why: a killed run then never leaves a truncated output, so `--resume` can trust every output that exists;
the partial files a killed run leaves behind are removed when their target is next written or skipped.
"""
from __future__ import annotations

import os
from pathlib import Path


def partial_path(target: Path) -> Path:
    """Where `target` is written first (same folder, so the rename is atomic; same suffix, for encoders)."""
    return target.with_name(f".{target.stem}.partial-{os.getpid()}{target.suffix}")


def clean_partials(target: Path) -> None:
    """Remove partial files of `target` left by runs that were killed."""
    if target.parent.is_dir():
        for p in target.parent.glob(f".{target.stem}.partial-*{target.suffix}"):
            p.unlink(missing_ok=True)
