"""Batch flicker and speed: warped temporal error of clips with real motion per method, and frames/s locally and on Ray.

Run: python bench/bench_batch.py [--frames 12] [--size 256x192] [--strengths 0.5,0.8] [--features 0.9,1]
     [--clips "2 px pan,real"] [--workers 2] [--no-ray] [--real /usr/share/doc/opencv-doc/examples/data/tree.avi]
     [--crops docs]
     python bench/bench_batch.py --speed-only --frames 60 --size 512x288 [--ray-passes 1]
Prints tables and writes bench/results/batch.json (batch_speed.json). Not a test: the numbers depend on the machine.

Flicker: for each clip (a 2 px pan, a 7 px pan with zoom, a turn with zoom, parallax, and real footage when
it is installed) and each method (frame by frame, --stability 2, --coherence c with and without stability, and
--coherence-features c: the previous AdaIN target carried along the flow before decoding, alone and before the
pixel blend of the first --strengths, which is the default pair),
the warped temporal error of the output: mean |O_t - warp(O_t-1)| over the pixels the input's optical flow
calls reliable (adastyle.coherence.FlickerMeter), beside the input's own (its floor), and the style loss s of
the frames (`adastyle eval`'s definition: style distance to the style over the content's, geometric mean).
Ray: the same measure + smooth + stylise job on a local Ray instance; start-up (ray.init, then the actors'
model loading and style encoding) and overhead per frame (wall time minus the model time the actors report, per
worker). --speed-only measures only that, frame by frame, on one clip of realistic size (e.g. 60 x 512x288).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402

from adastyle import stability  # noqa: E402
from adastyle.batch.backend import ClipPlace, LocalBackend, StyleOptions  # noqa: E402
from adastyle.batch.flicker import camera_clip, parallax_clip  # noqa: E402
from adastyle.coherence import Coherence, FlickerMeter  # noqa: E402
from adastyle.feature_coherence import FeatureChain  # noqa: E402
from adastyle.request import StylizeRequest  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "core" / "adastyle" / "examples"
REAL = Path("/usr/share/doc/opencv-doc/examples/data/tree.avi")  # Debian's opencv-doc (Apache-2.0 / BSD-3-Clause)


def clips(frames: int, size: tuple[int, int], real: Path | None) -> dict[str, list[np.ndarray]]:
    """The benchmark clips, all `frames` long at `size`."""
    ph = lambda n: Image.open(EXAMPLES / n)  # noqa: E731
    out = {
        "2 px pan": camera_clip(ph("content-coffee.jpg"), frames, size, 2),
        "2.5 px pan": camera_clip(ph("content-coffee.jpg"), frames, size, 2.5),
        "7 px pan + zoom 1%": camera_clip(ph("content-astronaut.jpg"), frames, size, 7, zoom=1.01),
        "turn 1 deg + zoom": camera_clip(ph("content-rocket.jpg"), frames, size, 1.5, zoom=1.005, turn=1.0),
        "parallax": parallax_clip(ph("content-coffee.jpg"), ph("content-grace_hopper.jpg"), frames, size),
    }
    if real is not None and real.exists():
        from adastyle.batch.video import read_frames

        got = []
        for f in read_frames(real):
            got.append(np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)))
            if len(got) == frames:
                break
        out[f"real: {real.name}"] = got
    return out


class StyleLoss:
    """`adastyle eval`'s s per frame: L_s(output, style) / L_s(content, style), fp32 encoder; geometric mean over
    every third frame from the third on (frames 2, 5, 8, ...: where a chain has built up; the fp32 encoder is
    the slow part of the benchmark)."""

    def __init__(self, style: np.ndarray) -> None:
        from adastyle.imageio import pil_to_tensor
        from adastyle.model import load_encoder

        self.encoder = load_encoder()
        self.to_t = pil_to_tensor
        self.style_taps = self._taps(style)
        self._content: dict[int, list[float]] = {}

    @torch.no_grad()
    def _taps(self, px: np.ndarray) -> list[torch.Tensor]:
        return self.encoder.taps(self.to_t(Image.fromarray(np.asarray(px)[..., :3])))

    def __call__(self, frames: list[np.ndarray], outputs: list[np.ndarray]) -> float:
        from adastyle.train.evaluate import style_distance

        key = id(frames)
        if key not in self._content:
            self._content[key] = [style_distance(self._taps(f), self.style_taps) for f in frames[2::3]]
        logs = [math.log(style_distance(self._taps(o), self.style_taps) / c)
                for o, c in zip(outputs[2::3], self._content[key])]
        return math.exp(sum(logs) / len(logs))


class TimedChain(FeatureChain):
    """The engine's feature chain, with the time spent in it (measuring the motion, warping and blending the
    targets) added up: its cost beside the networks', which a loaded machine makes noisy."""

    seconds = 0.0

    def begin(self, frame: np.ndarray) -> None:
        t0 = time.perf_counter()
        super().begin(frame)
        self.seconds += time.perf_counter() - t0

    def carry(self, box, target):
        t0 = time.perf_counter()
        out = super().carry(box, target)
        self.seconds += time.perf_counter() - t0
        return out


def feature_chained(stylizer, options: StyleOptions, frames: list[np.ndarray],
                    strength: float) -> tuple[list[np.ndarray], float]:
    """Frames stylised by the engine with the clip's chain at the decoder's input (`Stylizer.run(...,
    target_chain=)`, what `--coherence-features` runs), without the pixel chain; and the seconds spent in the chain."""
    chain = TimedChain(strength)
    return [np.asarray(stylizer.run(StylizeRequest(f, options), target_chain=chain)) for f in frames], chain.seconds


def chained(frames: list[np.ndarray], stylised: list[np.ndarray], strength: float) -> list[np.ndarray]:
    chain = Coherence(strength)
    return [chain.step(f, s) for f, s in zip(frames, stylised)]


def flicker(frames: list[np.ndarray], outputs: list[np.ndarray]) -> FlickerMeter:
    meter = FlickerMeter()
    for f, o in zip(frames, outputs):
        meter.add(f, o)
    return meter


def stylise(backend, frames: list[np.ndarray], sigma: float, features: float = 0.0) -> tuple[list[np.ndarray], float]:
    """Measure (when sigma > 0), smooth, stylise, as BatchJob does for a sequence (with `features` > 0, through
    the feature chain as `--coherence-features` hands the frames over); outputs and seconds."""
    t0 = time.perf_counter()
    stats = stability.smooth([o.unwrap() for o in backend.measure(frames)], sigma) if sigma > 0 else [None] * len(frames)
    places = [ClipPlace("clip", i, features) for i in range(len(frames))] if features > 0 else None
    outs = [o.unwrap() for o in backend.stylize(frames, stats, places)]
    return outs, time.perf_counter() - t0


def crops(path: Path, frames: list[np.ndarray], methods: dict[str, list[np.ndarray]], start: int,
          box: tuple[int, int, int, int]) -> None:
    """Three consecutive frames per method (rows: input, then each method), cropped to `box` and shown 2x."""
    from PIL import ImageDraw

    x, y, w, h = box
    rows = {"input": frames, **methods}
    label_w, pad = 200, 4
    sheet = Image.new("RGB", (label_w + 3 * (2 * w + pad), len(rows) * (2 * h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, (name, seq) in enumerate(rows.items()):
        draw.text((6, r * (2 * h + pad) + h), name, fill="black")
        for c in range(3):
            tile = Image.fromarray(np.asarray(seq[start + c])[y:y + h, x:x + w, :3]).resize((2 * w, 2 * h),
                                                                                            Image.Resampling.NEAREST)
            sheet.paste(tile, (label_w + c * (2 * w + pad), r * (2 * h + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def bench_ray(options: StyleOptions, frames: list[np.ndarray], workers: int, device: str,
              local: list[np.ndarray], sigma: float = 2.0, passes: int = 2) -> tuple[dict, dict]:
    """The job on a local Ray instance with `workers` actors, `passes` times over the same frames (a pass after the
    first shows what a later chunk or clip costs with the actors kept); its row of the speed table and details."""
    import ray

    from adastyle.batch.ray_backend import RayBackend

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    t_init = time.perf_counter() - t0
    t0 = time.perf_counter()
    backend = RayBackend(options, "", workers=workers, device=device)
    backend.stylize([np.zeros((64, 64, 3), np.uint8)] * workers, [None] * workers)  # each actor encodes the style
    t_actors = time.perf_counter() - t0
    timed = []
    for _ in range(passes):
        t0 = time.perf_counter()
        model = 0.0
        stats: list = [None] * len(frames)
        if sigma > 0:
            stats = stability.smooth([o.unwrap() for o in backend.measure(frames)], sigma)
            model = backend.last_actor_seconds
        outs = [o.unwrap() for o in backend.stylize(frames, stats)]
        model += backend.last_actor_seconds
        timed.append((time.perf_counter() - t0, model))
    backend.close()
    ray.shutdown()
    n = len(frames)
    wall, model = timed[-1]
    same = max(int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) for a, b in zip(outs, local))
    row = {"path": f"Ray local, {workers} actors, " + (f"stability {sigma:g}" if sigma > 0 else "frame by frame"),
           "frames/s": f"{n / wall:.3f}",
           "start-up s": f"{t_init:.1f} ray.init + {t_actors:.1f} actors",
           "overhead s/frame": f"{(wall - model / workers) / n:.3f}",
           "first pass s": f"{timed[0][0]:.1f}", "later pass s": f"{wall:.1f}" if passes > 1 else "-"}
    return row, {"ray_init_s": t_init, "actors_start_s": t_actors, "passes": timed,
                 "max_level_difference_vs_local": same}


def speed(options: StyleOptions, local: LocalBackend, args: argparse.Namespace) -> None:
    """One process against local Ray on a clip of realistic size, frame by frame (stylising only: the pass that
    runs in parallel), one pass in the process and --ray-passes on Ray after its start-up (a later pass: actors
    kept)."""
    size = tuple(int(v) for v in args.size.split("x"))
    frames = camera_clip(Image.open(EXAMPLES / "content-astronaut.jpg"), args.frames, size, 7)
    outs, t_local = stylise(local, frames, 0.0)
    rows = [{"path": "single process, frame by frame", "frames/s": f"{len(frames) / t_local:.3f}",
             "start-up s": "-", "overhead s/frame": "-", "first pass s": f"{t_local:.1f}", "later pass s": "-"}]
    print(table(rows, list(rows[0])), flush=True)
    row, detail = bench_ray(options, frames, args.workers, args.device, outs, sigma=0.0, passes=args.ray_passes)
    rows.append(row)
    print(table(rows, list(rows[0])))
    print(f"Ray vs single process: largest difference {detail['max_level_difference_vs_local']} levels")
    print(write_json("batch_speed", {"frames": args.frames, "size": size, "speed": rows, "ray": detail}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--size", default="256x192")
    ap.add_argument("--strengths", default="0.9,1")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--features", default="0.9",
                    help="strengths of the relu4_1 variant, alone and with the pixel chain (empty: none)")
    ap.add_argument("--clips", default="", help="only the clips whose names contain one of these (comma-separated)")
    ap.add_argument("--no-ray", action="store_true")
    ap.add_argument("--real", type=Path, default=REAL)
    ap.add_argument("--crops", type=Path, default=None,
                    help="folder for side-by-side crops: coherence-crops.png (7 px pan: frame by frame, stability 2, "
                         "stability 2 + coherence, the defaults with features, coherence 1), coherence-parallax.png")
    ap.add_argument("--speed-only", action="store_true",
                    help="only frames/s: one process vs local Ray, frame by frame, on a 7 px pan of --frames x --size")
    ap.add_argument("--ray-passes", type=int, default=2, help="with --speed-only: passes over the clip on Ray")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    style = np.asarray(Image.open(EXAMPLES / "style-castle.jpg").convert("RGB"))
    options = StyleOptions(styles=(style,))
    local = LocalBackend(options, device=args.device)
    local.stylize([np.zeros((64, 64, 3), np.uint8)], [None])  # warm-up: style encoding, first allocations
    if args.speed_only:
        speed(options, local, args)
        return
    loss = StyleLoss(np.asarray(Image.fromarray(style).resize((768, 512))))  # the engine's 512 px short side
    strengths = [float(s) for s in args.strengths.split(",")]
    feature_strengths = [float(s) for s in args.features.split(",") if s]
    stylizer = local.worker.stylizer
    wanted = [c for c in args.clips.split(",") if c]

    rows, result, speed_rows = [], {"frames": args.frames, "size": size, "clips": {}}, []
    for name, frames in clips(args.frames, size, args.real).items():
        if wanted and not any(c in name for c in wanted):
            continue
        fbf, t_fbf = stylise(local, frames, 0.0)
        st2, t_st2 = stylise(local, frames, 2.0)
        methods = {"frame by frame": fbf, "stability 2": st2}
        for c in strengths:
            t0 = time.perf_counter()
            methods[f"coherence {c:g}"] = chained(frames, fbf, c)
            t_chain = time.perf_counter() - t0
            if c == strengths[0]:
                methods[f"stability 2 + coherence {c:g}"] = chained(frames, st2, c)
        for c in feature_strengths:
            t0 = time.perf_counter()
            feat, t_in_chain = feature_chained(stylizer, options, frames, c)
            t_feat = time.perf_counter() - t0
            methods[f"features {c:g}"] = feat
            methods[f"features {c:g} + pixel {strengths[0]:g}"] = chained(frames, feat, strengths[0])
            if c == feature_strengths[0]:  # the defaults: stability 2, both chains (adastyle batch's path)
                both, _ = stylise(local, frames, 2.0, c)
                methods[f"stability 2 + features {c:g} + pixel {strengths[0]:g}"] = chained(frames, both, strengths[0])
        if feature_strengths and "feature chain off vs frame by frame" not in result:  # strength 0 changes nothing
            same, _ = feature_chained(stylizer, options, frames[:2], 0.0)
            result["feature chain off vs frame by frame"] = max(
                int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) for a, b in zip(same, fbf))
            print(f"feature chain at strength 0 vs frame by frame: largest difference "
                  f"{result['feature chain off vs frame by frame']} levels", flush=True)
        base = flicker(frames, fbf)
        s_base = loss(frames, fbf)
        clip_result = {"input_error": base.input_error}
        for method, outs in methods.items():
            m = flicker(frames, outs)
            s = loss(frames, outs)
            rows.append({"clip": name, "method": method, "warped error": f"{m.output_error:.2f}",
                         "x frame by frame": f"{m.output_error / base.output_error:.2f}",
                         "input floor": f"{m.input_error:.2f}", "x floor": f"{m.output_error / m.input_error:.2f}",
                         "style loss s": f"{s:.3f}", "s vs fbf": f"{(s / s_base - 1) * 100:+.1f}%"})
            clip_result[method] = {"error": m.output_error, "s": s, "pairs": m.pairs, "cuts": m.cuts}
        result["clips"][name] = clip_result
        if name.startswith("7 px") and args.crops:
            h, w = frames[0].shape[:2]
            both = ([f"stability 2 + features {feature_strengths[0]:g} + pixel {strengths[0]:g}"]
                    if feature_strengths else [])  # the defaults
            shown = {k: methods[k] for k in ("frame by frame", "stability 2", f"stability 2 + coherence {strengths[0]:g}",
                                             *both, f"coherence {strengths[-1]:g}")}
            if both:  # the label column is 200 px wide
                shown[f"defaults (+ features {feature_strengths[0]:g})"] = shown.pop(both[0])
                shown[f"coherence {strengths[-1]:g}"] = shown.pop(f"coherence {strengths[-1]:g}")  # last again
            crops(args.crops / "coherence-crops.png", frames, shown, start=args.frames // 2,
                  box=(w // 2 - 48, h // 2 - 36, 96, 72))
        if name == "parallax" and args.crops:
            h, w = frames[0].shape[:2]
            shown = {k: methods[k] for k in ("frame by frame", f"coherence {strengths[0]:g}")}
            x = int(w * 0.15 + 7 * (args.frames // 2)) - 40  # behind the near disc's trailing edge
            crops(args.crops / "coherence-parallax.png", frames, shown, start=args.frames // 2,
                  box=(max(0, x), h // 2 - 48, 120, 96))
        if not speed_rows:
            n = len(frames)
            speed_rows.append({"path": "single process, frame by frame", "frames/s": f"{n / t_fbf:.2f}",
                               "start-up s": "-", "overhead s/frame": "-", "first pass s": f"{t_fbf:.1f}",
                               "later pass s": "-"})
            speed_rows.append({"path": "single process, stability 2", "frames/s": f"{n / t_st2:.2f}",
                               "start-up s": "-", "overhead s/frame": "-", "first pass s": f"{t_st2:.1f}",
                               "later pass s": "-"})
            speed_rows.append({"path": f"coherence chain alone (flow + blend, {size[0]}x{size[1]})",
                               "frames/s": f"{n / t_chain:.2f}", "start-up s": "-", "overhead s/frame": "-",
                               "first pass s": f"{t_chain:.1f}", "later pass s": "-"})
            if feature_strengths:
                speed_rows.append({"path": f"features {feature_strengths[-1]:g} (stylise + feature chain; in the chain "
                                           f"{t_in_chain / n * 1000:.0f} ms/frame, {t_in_chain / t_feat * 100:.0f}%)",
                                   "frames/s": f"{n / t_feat:.2f}", "start-up s": "-", "overhead s/frame": "-",
                                   "first pass s": f"{t_feat:.1f}", "later pass s": "-"})
            ray_frames, ray_local = frames, st2
        print(table([r for r in rows if r["clip"] == name],
                    ["clip", "method", "warped error", "x frame by frame", "input floor", "x floor", "style loss s",
                     "s vs fbf"]), flush=True)
    result["flicker"] = rows

    if not args.no_ray:
        row, result["ray"] = bench_ray(options, ray_frames, args.workers, args.device, ray_local)
        speed_rows.append(row)
        print(f"Ray vs single process (stability 2): largest difference "
              f"{result['ray']['max_level_difference_vs_local']} levels")
    result["speed"] = speed_rows
    print()
    print(table(speed_rows, ["path", "frames/s", "start-up s", "overhead s/frame", "first pass s", "later pass s"]))
    print(write_json("batch", result))


if __name__ == "__main__":
    main()
