"""Batch speed and flicker: frames/s at 512 px in one process and on a local Ray instance; temporal error of a pan.

Run: python bench/bench_batch.py [--frames 24] [--size 512] [--step 2] [--workers 2] [--no-ray]
Prints tables and writes bench/results/batch.json. Not a test: the numbers depend on the machine.

Flicker: a slow pan (`--step` pixels per frame) over a photo; the temporal error is the mean absolute
difference (0..255 levels) between each stylised frame and the previous one moved by the known pan, away from
the borders (flicker.temporal_error), for each stability (window sigma in frames; 0 = frame by frame).
Ray: the same measure + smooth + stylise job on a local Ray instance; its overhead is the wall time minus the
model time the actors report, divided among the workers (actor start-up, object store, scheduling).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402

from adastyle.batch import stability  # noqa: E402
from adastyle.batch.backend import LocalBackend, StyleOptions  # noqa: E402
from adastyle.batch.flicker import pan_clip, temporal_error  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "core" / "adastyle" / "examples"


def run_job(backend, frames: list[np.ndarray], sigma: float) -> tuple[list[np.ndarray], float, float]:
    """Measure (when sigma > 0), smooth, stylise: as BatchJob does for a sequence. Returns outputs and the
    seconds of each pass."""
    t0 = time.perf_counter()
    stats = None
    if sigma > 0:
        stats = stability.smooth(backend.measure(frames), sigma)
    t1 = time.perf_counter()
    outs = backend.stylize(frames, stats or [None] * len(frames))
    t2 = time.perf_counter()
    assert all(isinstance(o, np.ndarray) for o in outs), [o for o in outs if isinstance(o, str)]
    return outs, t1 - t0, t2 - t1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--step", type=int, default=2, help="pan speed, pixels per frame")
    ap.add_argument("--sigmas", default="0,1,2,4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    photo = Image.open(EXAMPLES / "content-astronaut.jpg")
    frames = pan_clip(photo, args.frames, (args.size, args.size), args.step)
    options = StyleOptions(styles=(np.asarray(Image.open(EXAMPLES / "style-castle.jpg").convert("RGB")),))
    n = len(frames)
    print(f"{n} frames of {args.size}x{args.size}, pan {args.step} px/frame; input temporal error "
          f"{temporal_error(frames, args.step):.3f}")

    local = LocalBackend(options, device=args.device)
    local.stylize(frames[:1], [None])  # warm-up: style encoding, first-call allocations
    speed_rows, flicker_rows, outputs = [], [], {}
    for sigma in [float(s) for s in args.sigmas.split(",")]:
        outs, t_measure, t_style = run_job(local, frames, sigma)
        outputs[sigma] = outs
        err = temporal_error(outs, args.step)
        flicker_rows.append({"stability (sigma, frames)": f"{sigma:g}", "temporal error (levels)": f"{err:.3f}",
                             "vs frame by frame": f"{err / temporal_error(outputs[0.0], args.step):.2f}x"
                             if 0.0 in outputs else ""})
        speed_rows.append({"path": f"single process, stability {sigma:g}",
                           "frames/s": f"{n / (t_measure + t_style):.2f}",
                           "measure pass s": f"{t_measure:.1f}", "stylise pass s": f"{t_style:.1f}",
                           "model s/frame": f"{(t_measure + t_style) / n:.3f}", "overhead s": "-"})
    result = {"frames": n, "size": args.size, "step": args.step, "flicker": flicker_rows}

    if not args.no_ray:
        from adastyle.batch.ray_backend import RayBackend

        t0 = time.perf_counter()
        ray_backend = RayBackend(options, "", workers=args.workers, num_cpus=args.workers, device=args.device)
        t_init = time.perf_counter() - t0
        sigma = 2.0
        t0 = time.perf_counter()
        stats = stability.smooth(ray_backend.measure(frames), sigma)
        t_measure = time.perf_counter() - t0
        actor_measure = ray_backend.last_actor_seconds
        t0 = time.perf_counter()
        outs = ray_backend.stylize(frames, stats)
        t_style = time.perf_counter() - t0
        actor_style = ray_backend.last_actor_seconds
        ray_backend.close()
        wall = t_measure + t_style
        model = (actor_measure + actor_style) / args.workers
        same = max(int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max()) for a, b in zip(outs, outputs[2.0])) \
            if 2.0 in outputs else None
        speed_rows.append({"path": f"Ray local, {args.workers} workers, stability 2",
                           "frames/s": f"{n / wall:.2f}", "measure pass s": f"{t_measure:.1f}",
                           "stylise pass s": f"{t_style:.1f}",
                           "model s/frame": f"{(actor_measure + actor_style) / n:.3f} (per actor)",
                           "overhead s": f"{wall - model:.1f} (+ {t_init:.1f} s ray.init)"})
        result["ray"] = {"init_s": t_init, "measure_s": t_measure, "stylise_s": t_style,
                         "actor_model_s": actor_measure + actor_style, "max_level_difference_vs_local": same}
        print(f"Ray vs single process (stability 2): largest difference {same} levels")
    result["speed"] = speed_rows
    print(table(speed_rows, ["path", "frames/s", "measure pass s", "stylise pass s", "model s/frame", "overhead s"]))
    print()
    print(table(flicker_rows, ["stability (sigma, frames)", "temporal error (levels)", "vs frame by frame"]))
    print(write_json("batch", result))


if __name__ == "__main__":
    main()
