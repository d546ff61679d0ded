"""The batch job on a Ray cluster: a pool of long-lived actors, each holding the model, fed frames in order.

Why actors kept for the whole run: loading the model and encoding the styles is what an actor's start costs,
so the pool is started once (when the backend is made) and serves every pass (statistics, stylising) of
every chunk of every clip. Frames go to the actors round-robin through the object store, each call returns
one frame, and the driver collects the results in playback order (`ray.get` on the references in order),
so the batch job writes frames, and runs the coherence chain, exactly as with the local backend. Ray places
the actors on the cluster's CPUs or GPUs (`num_gpus` per actor where there are GPUs); the driver reads the
inputs and writes the outputs, so the nodes need the `adastyle` package but no shared filesystem.

The statistics pass returns every frame's content statistics to the driver, which smooths them exactly as a
local run does; the stylising pass carries each frame's smoothed statistics with it, so a distributed run
gives the same frames as a local one.

With the feature chain on (frames sent with their `ClipPlace`), a chunk is cut into one run of consecutive
frames per actor instead of dealt round-robin, and each actor runs the chain over its run in order. Why not
carry it across runs: frame t's decoding would wait for frame t-1's target from another actor, so the actors
would work one after the other. So the feature chain starts afresh at the first frame of each run (every 8
frames with the default chunk; with one actor it runs through the clip), while the pixel chain on the driver
runs across every border: a frame at a border is still made to agree with the one before it, only without the
carried target's share (the README's table measures what each chain removes).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from adastyle.batch.backend import ClipPlace, FrameOutcome, FrameResult, FrameWorker, StatsResult
from adastyle.content_stats import ContentStats
from adastyle.errors import UserError
from adastyle.request import StyleOptions

log = logging.getLogger(__name__)

INSTALL_HINT = 'Ray is not installed: pip install -e ".[ray]" (or pip install "ray[data]")'


def import_ray() -> Any:
    """The `ray` module, or a one-line UserError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


class RayFrameActor:
    """One model for the actor's life; one frame per call (results come back as soon as each is done)."""

    def __init__(self, options: StyleOptions, device: str, fast: bool, threads: int) -> None:
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self.worker = FrameWorker(options, device, fast)

    def ready(self) -> bool:
        return True

    def measure(self, frame: np.ndarray) -> tuple[FrameOutcome[dict[str, np.ndarray]], float]:
        """The frame's statistics as plain arrays (what crosses the object store best)."""
        t0 = time.perf_counter()
        res = self.worker.measure_one(np.asarray(frame))
        out = FrameOutcome(res.value.to_arrays()) if res.value is not None else FrameOutcome(error=res.error)
        return out, time.perf_counter() - t0

    def stylize(self, frame: np.ndarray, stats: dict[str, np.ndarray] | None,
                place: ClipPlace | None = None) -> tuple[FrameResult, float]:
        t0 = time.perf_counter()
        res = self.worker.stylize_one(np.asarray(frame), ContentStats.from_arrays(stats) if stats else None, place)
        return res, time.perf_counter() - t0


class RayBackend:
    """Frames stylised by a pool of model actors on a Ray cluster (or a local Ray instance), kept for the run."""

    def __init__(self, options: StyleOptions, address: str | None = "", *, workers: int = 0,
                 gpus_per_worker: float | None = None, device: str = "auto", fast: bool = True,
                 num_cpus: int | None = None) -> None:
        ray = import_ray()
        self.ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "logging_level": logging.WARNING}
            if address:
                kwargs["address"] = address
            elif num_cpus:
                kwargs["num_cpus"] = num_cpus
            ray.init(**kwargs)
        res = ray.cluster_resources()
        gpus = float(res.get("GPU", 0))
        cpus = int(res.get("CPU", 1))
        self.gpus_per_worker = (1.0 if gpus >= 1 else 0.0) if gpus_per_worker is None else gpus_per_worker
        if self.gpus_per_worker > 0:
            self.workers = workers or max(1, int(gpus / self.gpus_per_worker))
            device = "cuda" if device == "auto" else device
            cpus_per_worker = 1
        else:
            self.workers = workers or max(1, cpus)
            device = "cpu" if device == "auto" else device
            cpus_per_worker = max(1, cpus // self.workers)
        self.chunk = 8 * self.workers  # frames in flight per call: every actor busy, the driver writes as they come
        actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=self.gpus_per_worker)(RayFrameActor)
        self.actors = [actor.remote(options, device, fast, cpus_per_worker) for _ in range(self.workers)]
        ray.get([a.ready.remote() for a in self.actors])  # the models are loaded before the first frame
        log.info("Ray: %d actors, %s CPU and %s GPU each, on %s", self.workers, cpus_per_worker,
                 self.gpus_per_worker, address or "a local instance")
        self._next = 0
        self.last_actor_seconds = 0.0  # model time inside the actors in the last call (for the benchmark)

    def _map(self, method: str, args: list[tuple[Any, ...]], runs: bool = False) -> list[Any]:
        """Each argument tuple to the next actor in turn, or with `runs`, one run of consecutive arguments per
        actor (an actor does its calls in the order they were made); the results in the order of the arguments."""
        refs = []
        per_run = -(-len(args) // self.workers)
        for i, a in enumerate(args):
            actor = self.actors[i // per_run if runs else self._next % self.workers]
            refs.append(getattr(actor, method).remote(*a))
            self._next += 1
        out = self.ray.get(refs)
        self.last_actor_seconds = float(sum(sec for _, sec in out))
        return [r for r, _ in out]

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]:
        return [FrameOutcome(ContentStats.from_arrays(r.value)) if r.value is not None else FrameOutcome(error=r.error)
                for r in self._map("measure", [(np.asarray(f),) for f in frames])]

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None],
                places: Sequence[ClipPlace] | None = None) -> list[FrameResult]:
        at = places if places is not None else [None] * len(frames)
        return self._map("stylize", [(np.asarray(f), s.to_arrays() if s is not None else None, p)
                                     for f, s, p in zip(frames, stats, at)], runs=places is not None)

    def close(self) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
