"""The batch job on a Ray cluster: Ray Data `map_batches` over frames, with an actor class that holds the model.

Why Ray Data and actors: the model loads once per actor (not per frame), Ray places actors on the cluster's
CPUs or GPUs (`num_gpus` per actor where there are GPUs), and streams frames to them. The driver reads the
inputs and writes the outputs, so the cluster's nodes need the `adastyle` package but no shared filesystem.

Each pass is one dataset per chunk of frames: the statistics pass (encoder only) returns every frame's
content statistics to the driver, which smooths them exactly as a local run does; the stylising pass then
carries each frame's smoothed statistics with it, so a distributed run gives the same frames as a local one.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from adastyle.batch.backend import FrameResult, FrameWorker, StatsResult, StyleOptions
from adastyle.content_stats import ContentStats
from adastyle.errors import UserError

log = logging.getLogger(__name__)

INSTALL_HINT = 'Ray is not installed: pip install -e ".[ray]" (or pip install "ray[data]")'
STATS_KEYS = ("feat_mean", "feat_std", "colour_mean", "colour_cov", "luminance")


def import_ray() -> Any:
    """The `ray` module, or a one-line UserError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part we use; `ray` alone lacks it
    except ImportError:
        raise UserError(INSTALL_HINT) from None
    return ray


class RayFrameActor:
    """A Ray Data actor: one Stylizer for the actor's life; `task` is 'measure' or 'stylize'."""

    def __init__(self, options: StyleOptions, task: str, device: str, fast: bool, threads: int) -> None:
        import torch

        if threads > 0:
            torch.set_num_threads(threads)
        self.task = task
        self.worker = FrameWorker(options, device, fast)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        import time

        frames = list(batch["frame"])
        out: dict[str, list] = {"i": list(batch["i"]), "error": [], "seconds": []}
        if self.task == "measure":
            for k in STATS_KEYS:
                out[k] = []
            for f in frames:
                t0 = time.perf_counter()
                res = self.worker.measure_one(np.asarray(f))
                out["seconds"].append(time.perf_counter() - t0)
                arrays = res.to_arrays() if isinstance(res, ContentStats) else {}
                out["error"].append("" if arrays else str(res))
                for k in STATS_KEYS:  # absent parts as empty arrays (columns must exist in every row)
                    out[k].append(arrays.get(k, np.zeros(0)))
        else:
            out["out"] = []
            for j, f in enumerate(frames):
                stats = _stats_from_batch(batch, j)
                t0 = time.perf_counter()
                res = self.worker.stylize_one(np.asarray(f), stats)
                out["seconds"].append(time.perf_counter() - t0)
                ok = isinstance(res, np.ndarray)
                out["error"].append("" if ok else res)
                out["out"].append(res if ok else np.zeros((1, 1, 3), np.uint8))
        return {k: _column(v) for k, v in out.items()}


def _column(values: list) -> np.ndarray:
    """A batch column: a regular array when the shapes agree, else an object array of arrays (ragged)."""
    if values and isinstance(values[0], np.ndarray) and len({v.shape for v in values}) > 1:
        col = np.empty(len(values), dtype=object)
        col[:] = values
        return col
    return np.asarray(values)


def _stats_from_batch(batch: dict[str, np.ndarray], j: int) -> ContentStats | None:
    if "feat_mean" not in batch:
        return None
    arrays = {k: np.asarray(batch[k][j]) for k in STATS_KEYS if k in batch and np.asarray(batch[k][j]).size}
    return ContentStats.from_arrays(arrays) if "feat_mean" in arrays else None


class RayBackend:
    """Frames stylised by a pool of model actors on a Ray cluster (or a local Ray instance)."""

    def __init__(self, options: StyleOptions, address: str | None = "", *, workers: int = 0,
                 gpus_per_worker: float | None = None, device: str = "auto", fast: bool = True,
                 num_cpus: int | None = None) -> None:
        ray = import_ray()
        self.ray = ray
        self.options = options
        self.fast = fast
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
            self.device = "cuda" if device == "auto" else device
            self.cpus_per_worker = 1
        else:
            self.workers = workers or max(1, cpus)
            self.device = "cpu" if device == "auto" else device
            self.cpus_per_worker = max(1, cpus // self.workers)
        self.chunk = max(16, 32 * self.workers)  # one dataset per chunk: actor start-up is paid once per chunk
        ctx = ray.data.DataContext.get_current()
        ctx.execution_options.preserve_order = True
        ctx.enable_progress_bars = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # our progress bar says what happens
        log.info("Ray: %d actors, %s CPU and %s GPU each, on %s", self.workers, self.cpus_per_worker,
                 self.gpus_per_worker, address or "a local instance")
        self.last_actor_seconds = 0.0  # model time inside the actors in the last call (for the benchmark)

    def _run(self, task: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ray = self.ray
        if not rows:
            return []
        ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), self.workers * 4))
        ds = ds.map_batches(
            RayFrameActor, batch_size=1, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=min(self.workers, len(rows))),
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker,
            fn_constructor_kwargs={"options": self.options, "task": task, "device": self.device,
                                   "fast": self.fast, "threads": self.cpus_per_worker})
        out = sorted(ds.take_all(), key=lambda r: int(r["i"]))
        self.last_actor_seconds = float(sum(float(r["seconds"]) for r in out))
        return out

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]:
        rows = self._run("measure", [{"i": i, "frame": np.asarray(f)} for i, f in enumerate(frames)])
        results: list[StatsResult] = []
        for r in rows:
            if r["error"]:
                results.append(str(r["error"]))
            else:
                results.append(ContentStats.from_arrays({k: np.asarray(r[k]) for k in STATS_KEYS
                                                         if np.asarray(r[k]).size}))
        return results

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None]) -> list[FrameResult]:
        rows = []
        for i, (f, s) in enumerate(zip(frames, stats)):
            row: dict[str, Any] = {"i": i, "frame": np.asarray(f)}
            if any(x is not None for x in stats):
                arrays = s.to_arrays() if s is not None else {}
                for k in STATS_KEYS:
                    row[k] = arrays.get(k, np.zeros(0))
            rows.append(row)
        return [str(r["error"]) if r["error"] else np.asarray(r["out"], dtype=np.uint8)
                for r in self._run("stylize", rows)]

    def close(self) -> None:
        if self._started and self.ray.is_initialized():
            self.ray.shutdown()
