"""Argument parsing for `adastyle` and its subcommands (`cli`, `cli_batch`): one-line errors, help that shows
defaults, value types that say what is wrong, and the stylize controls every stylising command shares.

Why not plain argparse: its errors print the usage block plus a message (several lines) and it reads
`--weights -1,2` as a missing value (a token starting with '-' looks like an option to it). A user gets one
line naming the option and what it accepts instead, with exit code 2.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from adastyle_plugin import rules

EXIT_USAGE = 2
# A negative number or a comma-separated list starting with one ("-1,2", "-0.5"): a value, not an option.
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)[\d.eE+\-,\s]*$")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; every option with a default shows it, once (a help text that already
    speaks of its default keeps its own words; 0 is a default like any other, not a missing one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if ("%(default)" in text or "default" in text or default is None or default is False or
                default == argparse.SUPPRESS or
                isinstance(action, (argparse._HelpAction, argparse._VersionAction)) or
                (not action.option_strings and action.nargs not in ("?", "*"))):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line on stderr and exit 2; sub-parsers inherit the class."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        first = " ".join(message.split())
        self.exit(EXIT_USAGE, f"{self.prog}: error: {first} (see `{self.prog} --help`)\n")


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """`--weights -1,2` -> `--weights=-1,2`, so the value reaches its type check instead of argparse's option matcher."""
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        tok = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if tok.startswith("--") and "=" not in tok and nxt is not None and _NEGATIVE_VALUE.match(nxt):
            out.append(f"{tok}={nxt}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def floats(text: str) -> list[float]:
    """Comma-separated numbers (weights)."""
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")
    return values


def weights(text: str) -> list[float]:
    """Style weights: zero or more each, not all zero."""
    values = floats(text)
    if any(not (v >= 0 and v != float("inf")) for v in values) or sum(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected numbers of 0 or more, not all 0 (one per style), got {text!r}")
    return values


def four_floats(text: str) -> tuple[float, ...]:
    values = floats(text)
    if len(values) != 4 or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected four non-negative numbers, got {text!r}")
    return tuple(values)


def _number(text: str, kind: type) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'}, "
                                         f"got {text!r}") from None
    if kind is float and not (value == value and abs(value) != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a whole number above 0, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    value = float(_number(text, float))
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def positive_float(text: str) -> float:
    value = float(_number(text, float))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def unit_float(text: str) -> float:
    """A number from 0 to 1 (alpha)."""
    value = float(_number(text, float))
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def device(text: str) -> str:
    """auto, cpu, cuda, cuda:N or mps; whether this machine has it is checked when the model loads."""
    from adastyle.device_names import DeviceError, check_device_name

    try:
        return check_device_name(text)
    except DeviceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_style_arguments(p: argparse.ArgumentParser, mask_help: str) -> None:
    """The stylize controls (styles, weights, alpha, colour, mask, scale, style size, tile) and the device flags,
    the same for every command that stylises."""
    p.add_argument("--style", "-s", action="append", required=True,
                   help="style image, or lib:NAME for a style or preset of the library (`adastyle library`); "
                        "repeat for several")
    p.add_argument("--weights", type=weights, help="comma-separated weights, one per style (default: equal)")
    p.add_argument("--alpha", type=unit_float, default=1.0,
                   help="content-style trade-off: 0 = the content decoded, 1 = full style")
    p.add_argument("--preserve-color", choices=rules.COLOR_MODES, default="none",
                   help="keep the content's colours: histogram (match the style's colours first) or luminance "
                        "(stylise the brightness only)")
    p.add_argument("--mask", help=mask_help)
    p.add_argument("--scale", type=positive_float, default=1.0,
                   help=f"stroke scale, {rules.SCALE_MIN:g} to {rules.SCALE_MAX:g}: working resolution / canvas "
                        "(below 1 = larger brush strokes)")
    p.add_argument("--style-size", type=non_negative_int, default=rules.DEFAULT_STYLE_SIZE,
                   help="short side the style image is resized to, in pixels (0 = as it is)")
    p.add_argument("--tile", type=non_negative_int, default=0,
                   help=f"tile side in pixels for large images, {rules.TILE_MIN} to {rules.TILE_MAX} "
                        "(0 = chosen from free memory)")
    p.add_argument("--device", type=device, default="auto",
                   help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps")
    p.add_argument("--fp32", action="store_true", help="disable the reduced-precision fast path")


def report(message: str) -> None:
    """Print a user error as the one line every `adastyle` error is."""
    print(f"adastyle: error: {' '.join(str(message).split())}", file=sys.stderr)
