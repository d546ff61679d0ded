"""The style library: named styles and presets that every front end shares (server, CLI, web page, plug-ins).

`open_library` is the one way to get the library of this user with the server's limits, so the server and
the CLI (`--style lib:NAME`) always read the same folder.
"""
from __future__ import annotations

from adastyle.config import config_dir
from adastyle.library.entries import LIB_PREFIX, PRESET, STYLE, Entry, LibraryError
from adastyle.library.store import Library
from adastyle.settings import Settings

__all__ = ["Entry", "LIB_PREFIX", "Library", "LibraryError", "PRESET", "STYLE", "open_library"]


def open_library(settings: Settings | None = None) -> Library:
    """The library in the config folder (`library/`), with the limits of `settings` (the defaults if None)."""
    settings = settings or Settings()
    return Library(config_dir() / "library", max_entries=settings.library_max_entries,
                   max_bytes=settings.library_max_bytes, keep_side=settings.style_keep_side,
                   max_styles=settings.max_styles_per_request)
