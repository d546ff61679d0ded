"""`adastyle batch`: folders, videos and frame sequences, on this machine or a Ray cluster."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from adastyle.cli_args import add_style_arguments
from adastyle.errors import UserError
from adastyle_plugin import rules, wire

if TYPE_CHECKING:
    from adastyle.request import StyleOptions

EXIT_SOME_FAILED = 2


def options_from_args(args: argparse.Namespace) -> StyleOptions:
    """The run's one StyleOptions, read and checked once (a bad style or mask fails before any frame is
    touched); every frame's StylizeRequest, local or on Ray, carries it as it is."""
    from adastyle.batch.job import load_frame
    from adastyle.imageio import open_image
    from adastyle.library.cli import resolve_library_styles
    from adastyle.request import StyleOptions

    resolve_library_styles(args)
    return StyleOptions(tuple(load_frame(s) for s in args.style), weights=args.weights, alpha=args.alpha,
                        preserve_color=args.preserve_color, mask=open_image(args.mask) if args.mask else None,
                        scale=args.scale, style_size=args.style_size, tile=args.tile)


def sequence_from_args(args: argparse.Namespace) -> tuple[float, float, float]:
    """--stability, --coherence and --coherence-features, checked by the one rule of sequences (named as the
    flags they came from)."""
    from adastyle.request import RequestError, check_sequence

    try:
        return check_sequence(args.stability, args.coherence, args.coherence_features)
    except RequestError as exc:
        raise UserError("--" + exc.message.replace(wire.COHERENCE_FEATURES.name, "coherence-features", 1)) from None


def cmd_batch(args: argparse.Namespace) -> int:
    stability, coherence, coherence_features = sequence_from_args(args)  # before torch loads (the batch job imports it)
    from adastyle.batch.inputs import plan
    from adastyle.batch.job import BatchJob

    items, ignored = plan(args.inputs, args.output, fmt=args.format, sequences=args.sequence)
    if not items:
        raise UserError("nothing to stylise: no images or videos among the inputs")
    options = options_from_args(args)
    if args.ray is not None:
        from adastyle.batch.ray_backend import RayBackend

        backend = RayBackend(options, address=args.ray, workers=args.workers, gpus_per_worker=args.gpus_per_worker,
                             device=args.device, fast=not args.fp32)
    else:
        from adastyle.batch.backend import LocalBackend

        backend = LocalBackend(options, device=args.device, fast=not args.fp32)
    try:
        summary = BatchJob(items, backend, stability_frames=stability, coherence=coherence,
                           coherence_features=coherence_features, keep_chroma=options.keeps_content_chroma,
                           measure_flicker=args.report, resume=args.resume, progress=not args.no_progress).run()
    finally:
        backend.close()
    for line in summary.flicker:
        print(line, file=sys.stderr)
    print(f"{summary.frames} frames stylised, {summary.written} outputs written, "
          f"{summary.skipped} already finished, {len(summary.failed)} skipped with errors"
          + (f", {len(ignored)} other files ignored" if ignored else ""), file=sys.stderr)
    return EXIT_SOME_FAILED if summary.failed else 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("batch", help="stylise folders, videos and frame sequences (locally or on Ray)",
                       description="Outputs keep each folder's tree and each video's rate and audio; they are "
                                   "written atomically, so --resume continues a killed run.")
    b.add_argument("inputs", nargs="+", help="image files, video files and folders (searched recursively)")
    b.add_argument("-o", "--output", required=True, help="output folder")
    add_style_arguments(b, "grey mask for every frame: white = styled / first style, black = original / second")
    b.add_argument("--stability", type=float, default=rules.DEFAULT_STABILITY,
                   help="smoothing of content statistics across the frames of a video or sequence: the window's "
                        "standard deviation in frames (0 = frame by frame)")
    b.add_argument("--coherence", type=float, default=rules.DEFAULT_COHERENCE,
                   help="temporal coherence of a video or sequence: how strongly each frame follows the previous "
                        "stylised frame along the motion (optical flow), where the motion is reliable; new content, "
                        "occlusions and scene cuts keep their own texture (0 = off, 1 = strongest)")
    b.add_argument("--coherence-features", type=float, default=rules.DEFAULT_COHERENCE_FEATURES,
                   help="temporal coherence before decoding: how strongly each frame's AdaIN target follows the "
                        "previous frame's along the motion, beside --coherence (0 = off). On Ray it starts afresh "
                        "at each actor's run of frames (every 8 frames); --coherence runs across")
    b.add_argument("--report", action="store_true",
                   help="print each video's or sequence's flicker: the warped temporal error of the output beside "
                        "the input's own")
    b.add_argument("--sequence", action="store_true",
                   help="treat the images of each folder as the frames of one animation (smoothed together)")
    b.add_argument("--format", default="keep", choices=("keep", "png", "jpg", "webp"),
                   help="image output format (default: the input's)")
    b.add_argument("--resume", action="store_true", help="skip outputs that already exist (a killed run goes on)")
    b.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run on Ray: no address = a local Ray instance; 'auto' = the cluster started with "
                        "`ray start`; or ray://HOST:PORT (needs pip install -e \".[ray]\")")
    b.add_argument("--workers", type=int, default=0, help="Ray: model actors (0 = one per CPU, or per GPU)")
    b.add_argument("--gpus-per-worker", type=float, default=None,
                   help="Ray: GPUs per actor (default: 1 when the cluster has GPUs, else 0)")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_batch)
