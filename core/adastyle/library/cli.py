"""The library on the command line: `--style lib:NAME` in `stylize` and `batch`, and `adastyle library` to list it.

Why the styles become file paths: every stylising command already reads `--style` files, so a library
entry is resolved to its image file once, before anything else is read, and nothing downstream changes.
"""
from __future__ import annotations

import argparse

from adastyle.errors import UserError
from adastyle.library.entries import LIB_PREFIX, PRESET

# What `--style lib:PRESET` takes from the preset when the command line leaves these at their defaults.
PRESET_SETTINGS = {"alpha": 1.0, "preserve_color": "none", "scale": 1.0}


def resolve_library_styles(args: argparse.Namespace) -> None:
    """Replace each `lib:NAME` (or `lib:ID`) of `args.style` by the file of that library style.

    A preset must be the only `--style`: it brings its styles, its weights (unless `--weights` is given) and
    its alpha, colour mode and stroke scale (unless those options are given).
    """
    refs = list(args.style)
    if not any(r.lower().startswith(LIB_PREFIX) for r in refs):
        return
    from adastyle.library import open_library

    library = open_library()
    paths: list[str] = []
    for ref in refs:
        if not ref.lower().startswith(LIB_PREFIX):
            paths.append(ref)
            continue
        entry = library.find(ref)
        if entry.kind == PRESET:
            if len(refs) != 1:
                raise UserError(f"--style {ref}: a preset brings its own styles; give it as the only --style")
            if args.weights is None:
                args.weights = entry.weights
            for option, default in PRESET_SETTINGS.items():
                if getattr(args, option) == default:
                    setattr(args, option, getattr(entry, option))
        paths += [str(library.style_path(style)) for style, _ in library.expand(entry)]
    args.style = paths


def cmd_library(args: argparse.Namespace) -> int:
    from adastyle.library import open_library

    library = open_library()
    for line in library.skipped:
        print(line)
    for e in library.entries():
        mark = "*" if e.favourite else " "
        what = f"{len(e.styles)} styles" if e.kind == PRESET else f"{e.width}x{e.height}"
        print(f"{mark} {e.id:<28} {e.kind:<6} {e.name:<32} {what:<10} {', '.join(e.tags)}")
    print(f"{len(library.entries())} entries in {library.folder} and the bundled set; "
          f"use one with --style lib:NAME")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("library", help="list the style library (use an entry with --style lib:NAME)",
                       description="The styles and presets of the library: the bundled starter styles and those "
                                   "added from GIMP, Krita, the web page or the API (* = favourite).")
    p.set_defaults(func=cmd_library)
