"""Argument types shared by the command-line modules (`cli`, `cli_batch`)."""
from __future__ import annotations

import argparse

from adastyle_plugin import rules


def floats(text: str) -> list[float]:
    """Comma-separated numbers, e.g. style weights `0.3,0.7`."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def add_style_arguments(p: argparse.ArgumentParser, mask_help: str) -> None:
    """The stylize controls (styles, weights, alpha, colour, mask, scale, style size, tile) and the device flags,
    the same for every command that stylises."""
    p.add_argument("--style", "-s", action="append", required=True, help="style image (repeat for several)")
    p.add_argument("--weights", type=floats, help="comma-separated weights, one per style")
    p.add_argument("--alpha", type=float, default=1.0, help="content-style trade-off, 0..1")
    p.add_argument("--preserve-color", choices=rules.COLOR_MODES, default="none")
    p.add_argument("--mask", help=mask_help)
    p.add_argument("--scale", type=float, default=1.0, help="stroke scale: working resolution / canvas")
    p.add_argument("--style-size", type=int, default=rules.DEFAULT_STYLE_SIZE,
                   help="short side of the style image (0 = native)")
    p.add_argument("--tile", type=int, default=0, help="tile size in pixels (0 = automatic)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--fp32", action="store_true", help="disable the reduced-precision fast path")
